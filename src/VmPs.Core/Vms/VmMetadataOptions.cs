using System.Collections;

namespace VmPs.Core.Vms;

/// <summary>EC2's HttpTokens: Optional serves IMDSv1 and v2; Required answers a GET without a v2 token with 401.</summary>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum MetadataHttpTokens
{
    Optional,
    Required,
}

/// <summary>
/// New-Vm and Set-Vm -MetadataOptions, EC2's instance metadata options as a hashtable (@{ HttpTokens = 'required' }).
/// Of EC2's keys VmPs takes HttpTokens; any other key is refused by name rather than ignored, so a script written for
/// EC2 never believes an option took effect when it did not.
/// </summary>
public static class VmMetadataOptions
{
    public const string HttpTokensKey = "HttpTokens";

    /// <summary>The HttpTokens the options ask for, null when they leave it out; MetadataOptionsInvalid for anything else.</summary>
    public static MetadataHttpTokens? ParseHttpTokens(IDictionary? options, string vmName)
    {
        if (options is null)
        {
            return null;
        }

        MetadataHttpTokens? tokens = null;
        foreach (DictionaryEntry entry in options)
        {
            var key = entry.Key?.ToString();
            if (!string.Equals(key, HttpTokensKey, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid(vmName, $"'{key}' is not a metadata option VmPs takes; it takes {HttpTokensKey} (optional or required)");
            }

            // By name only: Enum.TryParse would also take "1".
            tokens = Enum.GetValues<MetadataHttpTokens>().Where(value => string.Equals(value.ToString(), entry.Value?.ToString(), StringComparison.OrdinalIgnoreCase))
                .Select(value => (MetadataHttpTokens?)value)
                .FirstOrDefault() ?? throw Invalid(vmName, $"{HttpTokensKey} must be optional or required, not '{entry.Value}'");
        }

        return tokens;
    }

    private static VmPsException Invalid(string vmName, string why) => new(
        VmPsErrorIds.MetadataOptionsInvalid,
        VmPsErrorKind.InvalidArgument,
        $"The metadata options of VM '{vmName}' are not valid: {why}.",
        vmName)
    {
        RecommendedAction = "Give -MetadataOptions @{ HttpTokens = 'required' } to require IMDSv2 tokens, or @{ HttpTokens = 'optional' } to allow IMDSv1 too.",
    };
}
