using VmPs.Protocol.Config;

namespace VmPs.Guest.Init;

/// <summary>The kernel modules each boot step needs before the agent answers or before system-ready; everything else loads after.</summary>
internal static class BootModules
{
    /// <summary>The network adapter's driver: the address and default route are set before system-ready.</summary>
    public const string Network = "virtio_net";

    private const string VirtioPciVendor = "0x1af4";

    /// <summary>ACPI id of a virtio-mmio device (QEMU microvm).</summary>
    private const string VirtioMmioAcpiId = "LNRO0005";

    /// <summary>
    /// The disk driver and the virtio transport the devices sit on: MMIO on QEMU's microvm, PCI on q35 and
    /// Cloud Hypervisor. The other transport's driver would cost a signature check for nothing.
    /// </summary>
    public static string[] Disks(string kernelCommandLine)
    {
        var pci = HasPciVirtioDevice();
        var mmio = HasMmioVirtioDevice(kernelCommandLine);
        // Neither seen: an unknown layout, so load both rather than miss the disks.
        return (pci, mmio) switch
        {
            (true, false) => ["virtio_pci", "virtio_blk"],
            (false, true) => ["virtio_mmio", "virtio_blk"],
            _ => ["virtio_mmio", "virtio_pci", "virtio_blk"],
        };
    }

    /// <summary>
    /// The root filesystem's driver, overlayfs, the agent channel's driver, and the power button's: a press
    /// that arrives before its driver is loaded is lost, and once the agent answers, the host may press it.
    /// virtio-fs too when the VM has shares, which are mounted before the image's command starts.
    /// </summary>
    public static string[] For(GuestConfig config) =>
    [
        config.RootfsFilesystem,
        "overlay",
        config.AgentChannel.Kind == AgentChannelKind.Vsock ? "vmw_vsock_virtio_transport" : "virtio_console",
        "button",
        "evdev",
        .. config.Shares.Count > 0 ? new[] { "virtiofs" } : [],
    ];

    private static bool HasPciVirtioDevice()
    {
        const string devices = "/sys/bus/pci/devices";
        return Directory.Exists(devices) && Directory.EnumerateDirectories(devices).Any(device =>
        {
            var vendor = Path.Combine(device, "vendor");
            return File.Exists(vendor) && File.ReadAllText(vendor).Trim() == VirtioPciVendor;
        });
    }

    /// <summary>Described by ACPI, or declared on the kernel command line (those appear only once the driver loads).</summary>
    private static bool HasMmioVirtioDevice(string kernelCommandLine)
    {
        const string devices = "/sys/bus/acpi/devices";
        return kernelCommandLine.Contains("virtio_mmio.device=", StringComparison.Ordinal)
            || (Directory.Exists(devices) && Directory.EnumerateDirectories(devices, VirtioMmioAcpiId + ":*").Any());
    }
}
