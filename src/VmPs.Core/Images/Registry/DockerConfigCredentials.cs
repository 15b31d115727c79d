using System.Text;
using System.Text.Json;
using VmPs.Core.Processes;

namespace VmPs.Core.Images.Registry;

/// <summary>
/// Registry credentials from docker's client config (~/.docker/config.json, or $DOCKER_CONFIG/config.json):
/// a per-registry credential helper (credHelpers), the default store (credsStore), or a base64 "auth" entry.
/// Helpers are run as docker-credential-&lt;name&gt; get, with the server on stdin.
/// </summary>
public sealed class DockerConfigCredentials
{
    private const string DockerHubKey = "https://index.docker.io/v1/";

    private readonly string configPath;

    public DockerConfigCredentials(string configPath)
    {
        this.configPath = configPath;
    }

    public static DockerConfigCredentials Default()
    {
        var directory = Environment.GetEnvironmentVariable("DOCKER_CONFIG") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");
        return new DockerConfigCredentials(Path.Combine(directory, "config.json"));
    }

    /// <summary>The credentials stored for <paramref name="registry"/>, or null when there are none.</summary>
    public async Task<RegistryCredentials?> FindAsync(string registry, CancellationToken cancellationToken)
    {
        if (!File.Exists(configPath))
        {
            return null;
        }

        using var document = await ReadConfigAsync(cancellationToken).ConfigureAwait(false);
        var root = document.RootElement;
        var server = registry == ImageReference.DockerHub ? DockerHubKey : registry;
        if (FindEntry(root, "credHelpers", registry) is { ValueKind: JsonValueKind.String } helper)
        {
            return await RunHelperAsync(helper.GetString()!, server, cancellationToken).ConfigureAwait(false);
        }

        if (FindEntry(root, "auths", registry) is { ValueKind: JsonValueKind.Object } entry
            && entry.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
        {
            return DecodeAuth(encoded, registry);
        }

        if (root.TryGetProperty("credsStore", out var store) && store.GetString() is { Length: > 0 } storeName)
        {
            return await RunHelperAsync(storeName, server, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    private async Task<JsonDocument> ReadConfigAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = File.OpenRead(configPath);
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new VmPsException(VmPsErrorIds.DockerConfigInvalid, VmPsErrorKind.InvalidData, $"{configPath} is not valid JSON: {ex.Message}.", configPath, ex);
        }
    }

    /// <summary>Keys may be a bare host or a URL ("https://host/v1/"); docker.io also appears as index.docker.io.</summary>
    private static JsonElement? FindEntry(JsonElement root, string section, string registry)
    {
        if (!root.TryGetProperty(section, out var entries) || entries.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in entries.EnumerateObject())
        {
            if (HostOf(property.Name) == registry)
            {
                return property.Value;
            }
        }

        return null;
    }

    private static string HostOf(string key)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        var slash = host.IndexOf('/');
        host = slash >= 0 ? host[..slash] : host;
        return host is "index.docker.io" or "registry-1.docker.io" ? ImageReference.DockerHub : host;
    }

    private RegistryCredentials DecodeAuth(string encoded, string registry)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException ex)
        {
            throw new VmPsException(VmPsErrorIds.DockerConfigInvalid, VmPsErrorKind.InvalidData, $"The auth entry for {registry} in {configPath} is not base64.", configPath, ex);
        }

        var colon = decoded.IndexOf(':');
        return colon > 0
            ? new RegistryCredentials(decoded[..colon], decoded[(colon + 1)..])
            : throw new VmPsException(VmPsErrorIds.DockerConfigInvalid, VmPsErrorKind.InvalidData, $"The auth entry for {registry} in {configPath} is not user:password.", configPath);
    }

    private static async Task<RegistryCredentials?> RunHelperAsync(string helper, string server, CancellationToken cancellationToken)
    {
        var program = "docker-credential-" + helper;
        var result = await ExternalTool.RunAsync(program, ["get"], cancellationToken, standardInput: server).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            // Helpers report "credentials not found" on stdout with a non-zero exit: that is "no credentials", not a failure.
            if ((result.StandardOutput + result.StandardError).Contains("credentials not found", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw new VmPsException(
                VmPsErrorIds.CredentialHelperFailed,
                VmPsErrorKind.InvalidOperation,
                $"{program} get failed for {server} with exit code {result.ExitCode}: {(result.StandardError + result.StandardOutput).Trim()}",
                program);
        }

        try
        {
            using var document = JsonDocument.Parse(result.StandardOutput);
            var username = document.RootElement.GetProperty("Username").GetString() ?? string.Empty;
            var secret = document.RootElement.GetProperty("Secret").GetString() ?? string.Empty;
            return new RegistryCredentials(username, secret);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new VmPsException(VmPsErrorIds.CredentialHelperFailed, VmPsErrorKind.ProtocolError, $"{program} get did not print {{\"Username\",\"Secret\"}} JSON.", program, ex);
        }
    }
}
