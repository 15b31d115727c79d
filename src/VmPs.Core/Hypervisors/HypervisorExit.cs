using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Core.Hypervisors;

/// <summary>
/// How a hypervisor recorded the end of a VM's run, read from its own log once it is gone: what tells a guest that
/// powered itself off (an installer, a disk image's systemd) from a crash, where no VmPs init writes a poweroff marker.
/// Each driver reads its own log: QEMU its QMP events (QemuEventLog), Cloud Hypervisor its event monitor file
/// (CloudHypervisorEventMonitor).
/// </summary>
/// <param name="GuestPoweredOff">
/// The guest powered the machine off (ACPI), not VmPs stopping the hypervisor, a guest reset or panic, or a kill.
/// </param>
/// <param name="Description">The record in a sentence for a crash report; null: the hypervisor recorded no end (killed outright, or crashed).</param>
internal sealed record HypervisorExit(bool GuestPoweredOff, string? Description)
{
    public static readonly HypervisorExit Unrecorded = new(false, null);

    /// <summary>The record of the last run of the VM in <paramref name="vmDirectory"/> under a <paramref name="kind"/> hypervisor.</summary>
    public static HypervisorExit Read(HypervisorKind kind, string vmDirectory) => kind switch
    {
        HypervisorKind.Qemu => QemuEventLog.ReadExit(vmDirectory),
        HypervisorKind.CloudHypervisor => CloudHypervisorEventMonitor.ReadExit(vmDirectory),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown hypervisor."),
    };
}
