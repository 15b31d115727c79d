using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace VmPs.Core.Images.Registry;

/// <summary>A parsed WWW-Authenticate challenge: Bearer realm="...",service="...",scope="..." or Basic realm="...".</summary>
internal sealed partial record RegistryAuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? this[string name] => Parameters.TryGetValue(name, out var value) ? value : null;

    public static RegistryAuthChallenge? From(HttpResponseHeaders headers)
    {
        var header = headers.WwwAuthenticate.FirstOrDefault(value => value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            ?? headers.WwwAuthenticate.FirstOrDefault();
        if (header is null)
        {
            return null;
        }

        var parameters = ParameterPattern().Matches(header.Parameter ?? string.Empty)
            .ToDictionary(match => match.Groups["key"].Value.ToLowerInvariant(), match => match.Groups["value"].Value);
        return new RegistryAuthChallenge(header.Scheme, parameters);
    }

    [GeneratedRegex(@"(?<key>[A-Za-z_]+)=""(?<value>[^""]*)""")]
    private static partial Regex ParameterPattern();
}
