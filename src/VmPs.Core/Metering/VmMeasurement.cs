using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;

namespace VmPs.Core.Metering;

/// <summary>
/// What a running (or paused) VM has used, as Measure-Vm reports it. CPU time and memory are its hypervisor process's
/// (the host's view); the guest memory figures are the guest kernel's own, from its agent; network figures are from
/// the guest's side of its TAP (received: what the host sent the guest).
/// </summary>
public sealed record VmMeasurement
{
    public required string VmName { get; init; }

    public required Guid VmId { get; init; }

    public required VmState State { get; init; }

    public required HypervisorKind Hypervisor { get; init; }

    /// <summary>When these figures were read.</summary>
    public required DateTimeOffset MeasuredAt { get; init; }

    /// <summary>Since the VM last started (or resumed from a saved state).</summary>
    public required TimeSpan Uptime { get; init; }

    /// <summary>User and system CPU time of the hypervisor process: the guest's vCPUs and the devices' emulation.</summary>
    public required TimeSpan CpuTime { get; init; }

    /// <summary>The hypervisor process's resident memory (RSS): guest memory it touched and its own.</summary>
    public required long HypervisorMemoryBytes { get; init; }

    /// <summary>The guest kernel's MemTotal; null when the agent did not say (paused, unreachable, or an impossible figure).</summary>
    public long? GuestMemoryTotalBytes { get; init; }

    /// <summary>The guest kernel's MemAvailable; null as <see cref="GuestMemoryTotalBytes"/>.</summary>
    public long? GuestMemoryAvailableBytes { get; init; }

    /// <summary>The guest's memory in use by its own account (MemTotal - MemAvailable).</summary>
    public long? GuestMemoryUsedBytes => GuestMemoryTotalBytes - GuestMemoryAvailableBytes;

    /// <summary>Bytes read from all the VM's disks since its hypervisor started.</summary>
    public required long DiskReadBytes { get; init; }

    /// <summary>Bytes written to all the VM's disks since its hypervisor started.</summary>
    public required long DiskWrittenBytes { get; init; }

    /// <summary>Bytes the guest received through its network adapter; null without one.</summary>
    public long? NetworkReceivedBytes { get; init; }

    /// <summary>Bytes the guest sent; null without a network adapter.</summary>
    public long? NetworkSentBytes { get; init; }

    public long? NetworkReceivedPackets { get; init; }

    public long? NetworkSentPackets { get; init; }
}
