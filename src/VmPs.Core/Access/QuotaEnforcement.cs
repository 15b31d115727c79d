using Microsoft.Data.Sqlite;
using VmPs.Core.State;

namespace VmPs.Core.Access;

/// <summary>What an operation adds to its owner's use: a new VM, vCPUs and memory that start running, disk bytes.</summary>
internal sealed record QuotaDemand(int Vms = 0, int Cpus = 0, int MemoryMiB = 0, long DiskBytes = 0);

/// <summary>
/// Checks a demand against the owner's quota inside the caller's write transaction, the one that then allocates, so
/// parallel sessions cannot together exceed a limit. Only the limits the demand touches are checked: a user over a
/// lowered limit may still stop, shrink and remove. The administrator (no owner) has no quota.
/// </summary>
internal static class QuotaEnforcement
{
    /// <summary>The states in which a VM holds its vCPUs and memory.</summary>
    public const string RunningStates = "('Starting', 'Running', 'Paused', 'Stopping')";

    public static async Task EnsureAsync(SqliteConnection connection, SqliteTransaction transaction, string? ownerId, QuotaDemand demand, CancellationToken cancellationToken)
    {
        if (ownerId is null)
        {
            return;
        }

        var (name, quota) = await UserStore.ReadQuotaAsync(connection, transaction, ownerId, cancellationToken).ConfigureAwait(false);
        var usage = await UserStore.ReadUsageAsync(connection, transaction, ownerId, cancellationToken).ConfigureAwait(false);
        Check(name, quota, usage, demand);
    }

    /// <summary>Set-Vm on a stopped VM: whether the VM could ever start, running alone.</summary>
    public static async Task EnsureFitsAloneAsync(SqliteConnection connection, SqliteTransaction transaction, string? ownerId, QuotaDemand demand, CancellationToken cancellationToken)
    {
        if (ownerId is null)
        {
            return;
        }

        var (name, quota) = await UserStore.ReadQuotaAsync(connection, transaction, ownerId, cancellationToken).ConfigureAwait(false);
        Check(name, quota, VmQuotaUsage.Zero, demand);
    }

    public static void Check(string user, VmQuota quota, VmQuotaUsage usage, QuotaDemand demand)
    {
        CheckOne(user, VmQuotaLimit.MaxVms, quota.MaxVms, usage.Vms, demand.Vms, "VMs");
        CheckOne(user, VmQuotaLimit.MaxCpus, quota.MaxCpus, usage.Cpus, demand.Cpus, "vCPUs of running VMs");
        CheckOne(user, VmQuotaLimit.MaxMemoryMiB, quota.MaxMemoryMiB, usage.MemoryMiB, demand.MemoryMiB, "MiB of running VMs");
        if (demand.DiskBytes > 0 && quota.MaxDiskGiB is { } maxDisk && usage.DiskBytes + demand.DiskBytes > (long)maxDisk << 30)
        {
            throw UserErrors.QuotaExceeded(user, VmQuotaLimit.MaxDiskGiB, maxDisk, usage.DiskGiB, (demand.DiskBytes + (1L << 30) - 1) >> 30, "GiB of disks and volumes");
        }
    }

    private static void CheckOne(string user, VmQuotaLimit limit, int? max, long inUse, long requested, string unit)
    {
        if (requested > 0 && max is { } value && inUse + requested > value)
        {
            throw UserErrors.QuotaExceeded(user, limit, value, inUse, requested, unit);
        }
    }
}
