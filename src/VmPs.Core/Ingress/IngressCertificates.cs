using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace VmPs.Core.Ingress;

/// <summary>
/// What Caddy holds for a route's certificate (Get-VmIngress's CertificateStatus): the certificate in its storage
/// (certificates/ISSUER/HOST/HOST.crt), else the last error Caddy logged obtaining one for the host. Caddy keeps
/// serving a certificate it could not renew, so a failure with a certificate still shows the certificate.
/// </summary>
internal sealed class IngressCertificates
{
    /// <summary>Only the end of Caddy's log is read for errors.</summary>
    private const int LogTailBytes = 1 << 20;

    private readonly IngressLayout layout;

    public IngressCertificates(IngressLayout layout) => this.layout = layout;

    public string StatusOf(string hostname, IngressTls tls)
    {
        if (tls == IngressTls.Off)
        {
            return "";
        }

        if (Newest(hostname) is { } certificate)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC ({certificate.Issuer})");
        }

        return LastError(hostname) is { } error ? $"Failed: {error}" : "Pending";
    }

    private (DateTime NotAfter, string Issuer)? Newest(string hostname)
    {
        var root = Path.Combine(layout.DataDirectory, "certificates");
        if (!Directory.Exists(root))
        {
            return null;
        }

        (DateTime NotAfter, string Issuer)? newest = null;
        foreach (var issuerDirectory in Directory.EnumerateDirectories(root))
        {
            var file = Path.Combine(issuerDirectory, hostname, hostname + ".crt");
            try
            {
                if (!File.Exists(file))
                {
                    continue;
                }

                // The chain, leaf first.
                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(file);
                if (chain.Count > 0 && (newest is null || chain[0].NotAfter > newest.Value.NotAfter))
                {
                    newest = (chain[0].NotAfter, chain[0].GetNameInfo(X509NameType.SimpleName, forIssuer: true));
                }

                foreach (var certificate in chain)
                {
                    certificate.Dispose();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                // No certificate of this issuer, or one being written.
            }
        }

        return newest;
    }

    /// <summary>The error of Caddy's last failed attempt to obtain a certificate for the host (its JSON log lines), or null.</summary>
    private string? LastError(string hostname)
    {
        string tail;
        try
        {
            using var log = File.OpenRead(layout.CaddyLog);
            log.Seek(Math.Max(0, log.Length - LogTailBytes), SeekOrigin.Begin);
            tail = new StreamReader(log).ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var line in Enumerable.Reverse(tail.Split('\n')))
        {
            if (!line.Contains(hostname, StringComparison.Ordinal) || !line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                using var entry = JsonDocument.Parse(line);
                var root = entry.RootElement;
                if (root.TryGetProperty("identifier", out var identifier) && identifier.ValueKind == JsonValueKind.String && identifier.GetString() == hostname
                    && root.TryGetProperty("level", out var level) && level.ValueKind == JsonValueKind.String && level.GetString() == "error"
                    && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
                {
                    return error.GetString();
                }
            }
            catch (JsonException)
            {
                // A line cut by the tail, or not Caddy's.
            }
        }

        return null;
    }
}
