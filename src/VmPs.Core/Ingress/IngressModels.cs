using VmPs.Core.Vms;

namespace VmPs.Core.Ingress;

/// <summary>How an ingress route serves HTTPS: with a certificate from the ingress's own CA, or plain HTTP.</summary>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum IngressTls
{
    /// <summary>Plain HTTP on port 80.</summary>
    Off,

    /// <summary>HTTPS on port 443 with a certificate from the ingress's own CA (for private host names).</summary>
    Internal,
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

    public string Url => $"{(Tls == IngressTls.Off ? "http" : "https")}://{Hostname}/";
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
