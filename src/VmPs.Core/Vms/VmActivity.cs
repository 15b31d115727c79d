using VmPs.Core.Metering;
using VmPs.Core.Network;

namespace VmPs.Core.Vms;

/// <summary>
/// When a VM was last used, for Get-Vm's IdleTime: the host records an exec or file operation as it passes, and
/// a change of the VM's TAP packet count since the last observation (kept in the state database, so any later
/// session compares against it) as activity at the time it is seen.
/// </summary>
internal sealed class VmActivity
{
    private readonly VmStore vms;

    public VmActivity(VmStore vms)
    {
        this.vms = vms;
    }

    /// <summary>An exec or file operation starts now.</summary>
    public Task RecordAsync(VmRecord vm, CancellationToken cancellationToken) =>
        vms.RecordActivityAsync(vm.Id, DateTimeOffset.UtcNow, cancellationToken);

    /// <summary>
    /// For a running VM with a network adapter: its TAP's packet count compared with the one last observed; when it
    /// changed, the VM was active now. Returns the row as it then is.
    /// </summary>
    public async Task<VmRecord> ObserveNetworkAsync(VmRecord vm, NetworkAdapterInfo? adapter, CancellationToken cancellationToken)
    {
        if (vm.State != VmState.Running || vm.Instance is null || adapter is null
            || HypervisorProcessFiles.ReadNetDev(vm.Instance.Process) is not { } table
            || NetDevStatistics.Find(table, adapter.Tap) is not { } counters
            || counters.Packets == vm.NetworkPackets)
        {
            return vm;
        }

        // The first count seen is a baseline, not activity.
        var activeAt = vm.NetworkPackets is null ? vm.LastActivityAt : DateTimeOffset.UtcNow;
        await vms.RecordNetworkPacketsAsync(vm.Id, counters.Packets, activeAt, cancellationToken).ConfigureAwait(false);
        return vm with { NetworkPackets = counters.Packets, LastActivityAt = activeAt };
    }
}
