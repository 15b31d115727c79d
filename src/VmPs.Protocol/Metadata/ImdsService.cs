using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VmPs.Protocol.Metadata;

/// <summary>
/// EC2's instance metadata service over one VM's <see cref="InstanceMetadata"/>: IMDSv2 tokens (PUT /latest/api/token)
/// and the /latest tree, with EC2's status codes: 400 for a missing or out-of-range TTL, 403 for a token PUT that
/// went through a proxy (X-Forwarded-For), 401 for a missing (when required), unknown or expired token, 404 for
/// an unknown path, 405 for any other method.
/// </summary>
public sealed class ImdsService
{
    private const string TokenPath = "/latest/api/token";

    private readonly ImdsTokens tokens;

    // Replaced whole by Apply, so a request that runs beside it sees the old data or the new, never a mix.
    private volatile Served served;

    public ImdsService(InstanceMetadata metadata, TimeProvider clock)
    {
        tokens = new ImdsTokens(clock);
        served = Serve(metadata);
    }

    /// <summary>Serves <paramref name="metadata"/> from the next request on; tokens issued before stay valid.</summary>
    public void Apply(InstanceMetadata metadata) => served = Serve(metadata);

    public ImdsResponse Handle(ImdsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (entries, tokensRequired) = served;
        if (request.Path == TokenPath)
        {
            return request.Method == "PUT" ? IssueToken(request) : ImdsResponse.Error(405);
        }

        if (request.Method != "GET")
        {
            return ImdsResponse.Error(405);
        }

        int? ttl = null;
        if (request.Token is { } token)
        {
            ttl = tokens.RemainingSeconds(token);
            if (ttl is null)
            {
                return ImdsResponse.Error(401);
            }
        }
        else if (tokensRequired)
        {
            return ImdsResponse.Error(401);
        }

        if (request.Path == "/")
        {
            return new ImdsResponse(200, "latest", TokenTtlSeconds: ttl);
        }

        if (!request.Path.StartsWith("/latest/", StringComparison.Ordinal) && request.Path != "/latest")
        {
            return ImdsResponse.Error(404);
        }

        var path = request.Path.Length > "/latest/".Length ? request.Path["/latest/".Length..] : "";
        if (entries.TryGetValue(path, out var body) || entries.TryGetValue(path + "/", out body))
        {
            return new ImdsResponse(200, body, path.EndsWith("document", StringComparison.Ordinal) ? "application/json" : "text/plain", ttl);
        }

        return ImdsResponse.Error(404);
    }

    private ImdsResponse IssueToken(ImdsRequest request)
    {
        if (request.Forwarded)
        {
            return ImdsResponse.Error(403);
        }

        if (request.TokenTtl is not { Length: > 0 and <= 5 } text || !text.All(char.IsAsciiDigit)
            || int.Parse(text, CultureInfo.InvariantCulture) is var ttl && ttl is < ImdsTokens.MinTtlSeconds or > ImdsTokens.MaxTtlSeconds)
        {
            return ImdsResponse.Error(400);
        }

        return new ImdsResponse(200, tokens.Issue(ttl), TokenTtlSeconds: ttl);
    }

    private static Served Serve(InstanceMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new Served(Tree(Leaves(metadata)), metadata.TokensRequired);
    }

    private static List<(string Path, string Value)> Leaves(InstanceMetadata metadata)
    {
        var leaves = new List<(string, string)>
        {
            ("meta-data/ami-id", metadata.ImageId),
            ("meta-data/instance-id", metadata.InstanceId),
            ("meta-data/hostname", metadata.Hostname),
            ("meta-data/local-hostname", metadata.Hostname),
            ("meta-data/placement/availability-zone", metadata.AvailabilityZone),
            ("meta-data/placement/region", metadata.Region),
            ("dynamic/instance-identity/document", IdentityDocument(metadata)),
        };
        if (metadata.MacAddress.Length > 0)
        {
            var mac = metadata.MacAddress.ToLowerInvariant();
            var prefix = $"meta-data/network/interfaces/macs/{mac}/";
            leaves.AddRange(
            [
                ("meta-data/local-ipv4", metadata.LocalIpv4),
                ("meta-data/mac", mac),
                (prefix + "device-number", "0"),
                (prefix + "local-hostname", metadata.Hostname),
                (prefix + "local-ipv4s", metadata.LocalIpv4),
                (prefix + "mac", mac),
            ]);
        }

        for (var index = 0; index < metadata.PublicKeys.Count; index++)
        {
            leaves.Add(($"meta-data/public-keys/{index}/openssh-key", metadata.PublicKeys[index]));
        }

        if (metadata.UserData is { } userData)
        {
            leaves.Add(("user-data", userData));
        }

        return leaves;
    }

    /// <summary>The leaves and, for each directory above them, its listing ("name" or "name/" a line, sorted).</summary>
    private static Dictionary<string, string> Tree(List<(string Path, string Value)> leaves)
    {
        var children = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, value) in leaves)
        {
            entries[path] = value;
            var child = path;
            for (var slash = path.LastIndexOf('/'); ; slash = path.LastIndexOf('/', slash - 1))
            {
                var directory = slash < 0 ? "" : path[..(slash + 1)];
                var name = child[directory.Length..];
                if (!children.TryGetValue(directory, out var names))
                {
                    children[directory] = names = new SortedSet<string>(StringComparer.Ordinal);
                }

                names.Add(name);
                if (slash <= 0)
                {
                    break;
                }

                child = directory;
            }
        }

        foreach (var (directory, names) in children)
        {
            // EC2 lists public keys as "0=name"; the key's comment is not a name, so the index is.
            entries[directory] = string.Join('\n', names.Select(name => directory == "meta-data/public-keys/" ? $"{name.TrimEnd('/')}=key{name.TrimEnd('/')}" : name));
        }

        return entries;
    }

    private static string IdentityDocument(InstanceMetadata metadata)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("architecture", "x86_64");
            json.WriteString("availabilityZone", metadata.AvailabilityZone);
            json.WriteString("imageId", metadata.ImageId);
            json.WriteString("instanceId", metadata.InstanceId);
            json.WriteString("privateIp", metadata.LocalIpv4.Length > 0 ? metadata.LocalIpv4 : null);
            json.WriteString("region", metadata.Region);
            json.WriteString("version", "2017-09-30");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <param name="Entries">Every served path (no leading "/latest/") to its text; directories end in "/" and list their children.</param>
    private sealed record Served(Dictionary<string, string> Entries, bool TokensRequired);
}
