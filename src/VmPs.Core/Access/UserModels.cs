namespace VmPs.Core.Access;

/// <summary>The limits of <see cref="VmQuota"/>, as Set-VmQuota names them and QuotaExceeded reports them.</summary>
public enum VmQuotaLimit
{
    /// <summary>VMs the user owns, whatever their state.</summary>
    MaxVms,

    /// <summary>vCPUs of the user's VMs that run (Starting, Running, Paused or Stopping).</summary>
    MaxCpus,

    /// <summary>Memory of the user's VMs that run.</summary>
    MaxMemoryMiB,

    /// <summary>The user's VM disks and volumes, by their full size.</summary>
    MaxDiskGiB,
}

/// <summary>A user's limits; null is no limit.</summary>
public sealed record VmQuota(int? MaxVms, int? MaxCpus, int? MaxMemoryMiB, int? MaxDiskGiB)
{
    public static VmQuota None { get; } = new(null, null, null, null);

    public int? this[VmQuotaLimit limit] => limit switch
    {
        VmQuotaLimit.MaxVms => MaxVms,
        VmQuotaLimit.MaxCpus => MaxCpus,
        VmQuotaLimit.MaxMemoryMiB => MaxMemoryMiB,
        _ => MaxDiskGiB,
    };
}

/// <summary>What a user's VMs and volumes hold, counted as <see cref="VmQuotaLimit"/> says.</summary>
public sealed record VmQuotaUsage(int Vms, int Cpus, int MemoryMiB, long DiskBytes)
{
    public static VmQuotaUsage Zero { get; } = new(0, 0, 0, 0);

    /// <summary>The disk usage in whole GiB, rounded up.</summary>
    public long DiskGiB => (DiskBytes + (1L << 30) - 1) >> 30;
}

/// <summary>A VmPs user (Get-VmUser): who may own VMs, reach them through ingress and the SSH gateway, within a quota.</summary>
public sealed record VmUser
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required string Email { get; init; }

    public required VmQuota Quota { get; init; }

    public required VmQuotaUsage Usage { get; init; }

    public required IReadOnlyList<VmUserKey> SshKeys { get; init; }

    /// <summary>The VMs of other owners that were shared with this user (Grant-VmAccess).</summary>
    public required IReadOnlyList<string> SharedVms { get; init; }

    /// <summary>How many access tokens the user holds (New-VmUserToken); the tokens themselves are kept only as hashes.</summary>
    public required int TokenCount { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>One of a user's SSH public keys.</summary>
public sealed record VmUserKey(string User, string Fingerprint, string Type, string KeyData, string? Comment, DateTimeOffset CreatedAt)
{
    /// <summary>The key as an authorized_keys line (type and data, without the comment).</summary>
    public string PublicKey => $"{Type} {KeyData}";
}

/// <summary>A new access token (New-VmUserToken). <see cref="Token"/> is shown this once: only its hash is stored.</summary>
public sealed record VmUserToken(Guid Id, string User, string Token, DateTimeOffset CreatedAt);

/// <summary>A VM shared with a user who does not own it (Grant-VmAccess).</summary>
public sealed record VmAccessGrant(string VmName, string User, DateTimeOffset CreatedAt);

public sealed record VmUserCreateOptions
{
    public required string Name { get; init; }

    public required string Email { get; init; }

    /// <summary>OpenSSH public keys (authorized_keys lines) the user logs in to the SSH gateway with.</summary>
    public IReadOnlyList<string> SshPublicKeys { get; init; } = [];
}

/// <summary>Set-VmUser's changes; null keeps the value.</summary>
public sealed record VmUserSetOptions
{
    public string? NewName { get; init; }

    public string? Email { get; init; }
}
