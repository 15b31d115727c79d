using Newtonsoft.Json.Converters;
using VmPs.Core.Host;

namespace VmPs.Core.Hypervisors.Qemu;

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum QemuMachine
{
    /// <summary>virtio-mmio devices, no PCI, no firmware: the fastest boot.</summary>
    Microvm,

    /// <summary>A PC with PCI (virtio-*-pci devices), for guests that need one.</summary>
    Q35,
}

/// <summary>How the QEMU driver starts VMs on this host.</summary>
/// <param name="QemuPath">The qemu-system-x86_64 executable.</param>
/// <param name="Accelerator">KVM only where a boot test proved it works (see <see cref="HostReport.QemuAccelerator"/>).</param>
/// <param name="UseVhostVsock">Agent over vhost-vsock (needs /dev/vhost-vsock), else over a virtio-serial port.</param>
public sealed record QemuDriverOptions(
    string QemuPath,
    Accelerator Accelerator,
    QemuMachine Machine = QemuMachine.Microvm,
    bool UseVhostVsock = false)
{
    /// <summary>How long QEMU may take to open its QMP socket before the launch counts as failed.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the guest may take to release a hot-plugged disk after QMP device_del (ACPI eject under TCG takes seconds).</summary>
    public TimeSpan UnplugTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long QEMU may take to exit after QMP "quit" before it is SIGKILLed.</summary>
    public TimeSpan QuitTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Options for this host: its QEMU, the accelerator the probe chose and vhost-vsock if present.</summary>
    public static QemuDriverOptions ForHost(HostReport report, QemuMachine machine = QemuMachine.Microvm)
    {
        var qemu = report.Hypervisors.FirstOrDefault(hypervisor => hypervisor.Kind == HypervisorKind.Qemu)?.Tool;
        if (qemu?.Path is null)
        {
            throw new VmPsException(
                VmPsErrorIds.HypervisorNotInstalled,
                VmPsErrorKind.NotInstalled,
                "QEMU (qemu-system-x86_64) is not installed.",
                HypervisorKind.Qemu)
            {
                RecommendedAction = $"Install the '{qemu?.Package ?? HostToolCatalog.Qemu.Package}' package.",
            };
        }

        return new QemuDriverOptions(qemu.Path, report.QemuAccelerator, machine, report.VhostVsockAvailable);
    }
}
