using VmPs.Core.Vms;

namespace VmPs.Core.Ingress;

/// <summary>How an ingress route serves HTTPS: with a certificate from an ACME CA or from the ingress's own CA, or plain HTTP.</summary>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum IngressTls
{
    /// <summary>Plain HTTP on port 80.</summary>
    Off,

    /// <summary>HTTPS on port 443 with a certificate from the ingress's own CA (for private host names).</summary>
    Internal,

    /// <summary>
    /// HTTPS on port 443 with a certificate from the ACME CA of Set-VmHost -AcmeDirectory (Let's Encrypt by default),
    /// proven by HTTP-01 (port 80) or TLS-ALPN-01 (port 443): the host name must resolve to this host for the CA.
    /// </summary>
    Acme,
}

/// <summary>An HTTPS (or HTTP) route from a host name to a port of a VM (Get-VmIngress).</summary>
public sealed record VmIngress
{
    public required string Hostname { get; init; }

    public required string VmName { get; init; }

    public required int Port { get; init; }

    public required IngressTls Tls { get; init; }

    /// <summary>True: anyone may reach it; false: only the VM's owner and the users it was shared with, by token.</summary>
    public required bool Public { get; init; }

    /// <summary>The NAME.DOMAIN route every VM has while Set-VmHost -IngressDomain is set (not stored, not removable).</summary>
    public required bool IsDefault { get; init; }

    /// <summary>The VM's state when read: only a Running VM is proxied to; any other answers 503.</summary>
    public required VmState VmState { get; init; }

    /// <summary>
    /// The route's certificate as Caddy holds it: "Valid until ..." with its issuer, "Pending" while none was issued
    /// yet, "Failed: ..." with the CA's last error when none could be; empty for plain HTTP.
    /// </summary>
    public string CertificateStatus { get; init; } = "";

    public string Url => $"{(Tls == IngressTls.Off ? "http" : "https")}://{Hostname}/";
}

/// <summary>
/// The ACME CA of routes with -Tls Acme (Set-VmHost -AcmeDirectory): its directory URL, the account's e-mail address
/// (optional; the CA's expiry notices go there), a PEM root certificate to trust for the CA's own HTTPS (for a
/// private CA; public CAs need none) and the challenges Caddy may answer.
/// </summary>
public sealed record IngressAcmeSettings(Uri Directory, string? Email, string? TrustedRootFile, AcmeChallenges Challenges = AcmeChallenges.All)
{
    public static IngressAcmeSettings Default { get; } = new(new Uri("https://acme-v02.api.letsencrypt.org/directory"), null, null);
}

/// <summary>The ingress's host-wide settings as Get-VmHost shows them: the default routes' domain (null: none) and the ACME CA.</summary>
public sealed record IngressHostSettings(string? Domain, IngressAcmeSettings Acme)
{
    public static IngressHostSettings Default { get; } = new(null, IngressAcmeSettings.Default);
}

/// <summary>The ACME challenges Caddy answers itself (Set-VmHost -AcmeChallenge); the CA validates with one of them.</summary>
[Flags]
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum AcmeChallenges
{
    /// <summary>HTTP-01: the CA fetches a token from http://HOSTNAME/.well-known/acme-challenge/ on port 80.</summary>
    Http01 = 1,

    /// <summary>TLS-ALPN-01: the CA connects to HOSTNAME:443 with the acme-tls/1 protocol (port 80 may stay closed).</summary>
    TlsAlpn01 = 2,

    All = Http01 | TlsAlpn01,
}

/// <summary>What New-VmIngress asks for.</summary>
public sealed record VmIngressCreateOptions
{
    public required string VmName { get; init; }

    public required string Hostname { get; init; }

    public int Port { get; init; } = 80;

    public IngressTls Tls { get; init; } = IngressTls.Internal;

    public bool Public { get; init; }
}
