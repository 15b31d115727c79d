using VmPs.Core.Host;
using VmPs.Core.Network;
using VmPs.Core.Vms;

namespace VmPs.Core.Metering;

/// <summary>
/// Measure-Vm: reads what a running or paused VM has used from its verified hypervisor process (/proc: CPU time,
/// RSS, the TAP's counters), its hypervisor's API (disk bytes) and, while it runs, its agent (the guest's own memory
/// view, validated: a guest that says more memory than it was given is not believed).
/// </summary>
internal sealed class VmMeter
{
    /// <summary>How long the guest's memory view may take; a guest that does not answer in time is measured without it.</summary>
    private static readonly TimeSpan GuestAnswerTimeout = TimeSpan.FromSeconds(10);

    private readonly HostContext host;

    public VmMeter(HostContext host)
    {
        this.host = host;
    }

    /// <summary>Throws VmNotRunning for a VM that is not running or paused (or whose hypervisor is gone).</summary>
    public async Task<VmMeasurement> MeasureAsync(VmRecord vm, NetworkAdapterInfo? adapter, CancellationToken cancellationToken)
    {
        if (vm.State is not (VmState.Running or VmState.Paused) || vm.Instance is not { } instance)
        {
            throw VmErrors.NotRunning(vm.Name, vm.State);
        }

        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        var disks = await driver.ReadDiskCountersAsync(instance, cancellationToken).ConfigureAwait(false);
        var guestMemory = vm.State == VmState.Running ? await ReadGuestMemoryAsync(vm, cancellationToken).ConfigureAwait(false) : null;
        var network = adapter is null || HypervisorProcessFiles.ReadNetDev(instance.Process) is not { } table ? null : NetDevStatistics.Find(table, adapter.Tap);
        var usage = HypervisorProcessFiles.ReadUsage(instance.Process) ?? throw VmErrors.NotRunning(vm.Name, VmState.Stopped);
        var now = DateTimeOffset.UtcNow;

        // The TAP's receive side is what the guest sent, and the other way round.
        return new VmMeasurement
        {
            VmName = vm.Name,
            VmId = vm.Id,
            State = vm.State,
            Hypervisor = vm.Hypervisor,
            MeasuredAt = now,
            Uptime = vm.StartedAt is { } started ? now - started : TimeSpan.Zero,
            CpuTime = usage.CpuTime,
            HypervisorMemoryBytes = usage.ResidentBytes,
            GuestMemoryTotalBytes = guestMemory?.TotalBytes,
            GuestMemoryAvailableBytes = guestMemory?.AvailableBytes,
            DiskReadBytes = disks.ReadBytes,
            DiskWrittenBytes = disks.WrittenBytes,
            NetworkReceivedBytes = network?.SentBytes,
            NetworkSentBytes = network?.ReceivedBytes,
            NetworkReceivedPackets = network?.SentPackets,
            NetworkSentPackets = network?.ReceivedPackets,
        };
    }

    private static async Task<GuestMemoryView?> ReadGuestMemoryAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GuestAnswerTimeout);
        try
        {
            await using var connection = await SharedAgentConnections.AcquireAsync(vm, GuestAnswerTimeout, timeout.Token).ConfigureAwait(false);
            var pong = await connection.Client.PingAsync(timeout.Token).ConfigureAwait(false);
            return GuestMemoryView.Validate(pong.MemoryTotalBytes, pong.MemoryAvailableBytes, (long)vm.MemoryMiB << 20);
        }
        catch (Exception ex) when (ex is VmPsException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }
}
