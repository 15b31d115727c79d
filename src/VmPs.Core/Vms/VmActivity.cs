using VmPs.Core.Metering;
using VmPs.Core.Network;

namespace VmPs.Core.Vms;

/// <summary>A running VM's TAP packet count as seen now, and its last activity with it.</summary>
internal sealed record NetworkObservation(Guid VmId, long Packets, DateTimeOffset? LastActivityAt);

/// <summary>
/// When a VM was last used, for Get-Vm's IdleTime: the host records an exec or file operation as it passes, and
/// a change of the VM's TAP packet count since the last observation (kept in the state database, so any later
/// session compares against it) as activity at the time it is seen. Only running VMs are written, and every write
/// is best effort: a read such as Get-Vm never waits long for, or fails on, a database that takes no write.
/// </summary>
internal sealed class VmActivity
{
    private readonly VmStore vms;

    public VmActivity(VmStore vms)
    {
        this.vms = vms;
    }

    /// <summary>An exec or file operation starts now in the running <paramref name="vm"/>.</summary>
    public async Task RecordAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        if (vm.State == VmState.Running)
        {
            await vms.TryRecordActivityAsync(vm.Id, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// For each running VM with a network adapter: its TAP's packet count compared with the one last observed; when
    /// it changed, the VM was active now. Returns the rows as they then are, in order; all changes are recorded in
    /// one write, and when the database takes none the rows are still returned as observed.
    /// </summary>
    public async Task<IReadOnlyList<VmRecord>> ObserveNetworkAsync(
        IReadOnlyList<(VmRecord Vm, NetworkAdapterInfo? Adapter)> vmsWithAdapters,
        CancellationToken cancellationToken)
    {
        var result = new List<VmRecord>(vmsWithAdapters.Count);
        var changes = new List<NetworkObservation>();
        foreach (var (vm, adapter) in vmsWithAdapters)
        {
            if (Observe(vm, adapter) is { } observation)
            {
                changes.Add(observation);
                result.Add(vm with { NetworkPackets = observation.Packets, LastActivityAt = observation.LastActivityAt });
            }
            else
            {
                result.Add(vm);
            }
        }

        if (changes.Count > 0)
        {
            await vms.TryRecordNetworkPacketsAsync(changes, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    private static NetworkObservation? Observe(VmRecord vm, NetworkAdapterInfo? adapter)
    {
        if (vm.State != VmState.Running || vm.Instance is null || adapter is null
            || HypervisorProcessFiles.ReadNetDev(vm.Instance.Process) is not { } table
            || NetDevStatistics.Find(table, adapter.Tap) is not { } counters
            || counters.Packets == vm.NetworkPackets)
        {
            return null;
        }

        // The first count seen is a baseline, not activity.
        return new NetworkObservation(vm.Id, counters.Packets, vm.NetworkPackets is null ? vm.LastActivityAt : DateTimeOffset.UtcNow);
    }
}
