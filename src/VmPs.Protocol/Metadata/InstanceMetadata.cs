namespace VmPs.Protocol.Metadata;

/// <summary>
/// What the VM's instance metadata service (EC2-compatible, at 169.254.169.254 inside the guest) answers with, written
/// by the host on the config disk. The guest serves only this: one VM never sees another's data.
/// </summary>
public sealed record InstanceMetadata
{
    /// <summary>"i-" and 17 lowercase hexadecimal digits, as EC2's.</summary>
    public string InstanceId { get; init; } = "";

    public string Hostname { get; init; } = "";

    public string AvailabilityZone { get; init; } = "";

    public string Region { get; init; } = "";

    /// <summary>The image the VM was created from.</summary>
    public string ImageId { get; init; } = "";

    /// <summary>The adapter's IPv4 address and MAC; empty without a network.</summary>
    public string LocalIpv4 { get; init; } = "";

    public string MacAddress { get; init; } = "";

    /// <summary>OpenSSH public keys, served as public-keys/N/openssh-key.</summary>
    public IReadOnlyList<string> PublicKeys { get; init; } = [];

    /// <summary>The user data as given (at most 16 KiB); null: /latest/user-data answers 404, as on EC2.</summary>
    public string? UserData { get; init; }

    /// <summary>True: only IMDSv2 (a token on every GET), as EC2's HttpTokens=required.</summary>
    public bool TokensRequired { get; init; }
}
