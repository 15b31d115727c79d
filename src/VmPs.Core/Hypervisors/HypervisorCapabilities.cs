using System.Numerics;

namespace VmPs.Core.Hypervisors;

/// <summary>
/// The optional things a hypervisor can do for a VM. A driver states them in its
/// <see cref="HypervisorCapabilities"/>; an operation that needs one calls
/// <see cref="HypervisorCapabilities.Require"/> first, and selection skips drivers without it.
/// </summary>
[Flags]
public enum HypervisorFeatures
{
    None = 0,

    /// <summary>The agent is reached over a vsock (kernel vsock or CH's hybrid vsock); without it, a virtio-serial port.</summary>
    Vsock = 1 << 0,

    /// <summary>Disks are attached to and detached from a running VM.</summary>
    DiskHotplug = 1 << 1,

    /// <summary>Network adapters are attached to and detached from a running VM.</summary>
    NicHotplug = 1 << 2,

    /// <summary>Host directories are shared with the guest through virtio-fs (virtiofsd over vhost-user).</summary>
    VirtioFs = 1 << 3,

    /// <summary>Disks may be qcow2 images (overlays, volumes, backing files), not only raw files.</summary>
    Qcow2Disks = 1 << 4,

    /// <summary>A running VM's disk is grown in place.</summary>
    DiskResize = 1 << 5,

    /// <summary>vCPUs are paused and resumed.</summary>
    Pause = 1 << 6,

    /// <summary>Memory and device state are saved to files and restored from them (standby, checkpoints, forks).</summary>
    Snapshot = 1 << 7,

    /// <summary>A restore maps the saved memory on demand, so forks of one checkpoint share its memory file.</summary>
    LazyRestore = 1 << 8,

    /// <summary>vCPUs are added to or removed from a running VM.</summary>
    CpuResize = 1 << 9,

    /// <summary>Memory is added to or removed from a running VM.</summary>
    MemoryResize = 1 << 10,

    /// <summary>Boot through UEFI firmware (disk images with their own bootloader).</summary>
    Uefi = 1 << 11,

    /// <summary>Boot through legacy BIOS firmware.</summary>
    Bios = 1 << 12,

    /// <summary>An ISO image is attached as a CD-ROM to boot from.</summary>
    CdRom = 1 << 13,

    /// <summary>An uncompressed vmlinux is booted directly through its PVH entry point.</summary>
    PvhKernel = 1 << 14,

    /// <summary>A running VM's disk gets a new qcow2 file on top of its current one (copy-on-write checkpoints).</summary>
    LiveDiskSnapshot = 1 << 15,

    /// <summary>A terminal attaches to the running VM's serial console (Enter-Vm -Console) while its console log is still kept.</summary>
    SerialConsole = 1 << 16,

    /// <summary>Memory added to a running VM is taken out again while it runs (<see cref="MemoryResize"/> alone only adds).</summary>
    MemoryUnplug = 1 << 17,
}

/// <summary>What one hypervisor driver, as configured for this host, can do. Callers check these, never the driver's type.</summary>
/// <param name="Driver">The driver's name as users know it, for errors ("QEMU (microvm)", "Cloud Hypervisor").</param>
/// <param name="Features">Everything optional it supports.</param>
public sealed record HypervisorCapabilities(string Driver, HypervisorFeatures Features)
{
    public bool Supports(HypervisorFeatures features) => (Features & features) == features;

    /// <summary>The features of <paramref name="required"/> this driver lacks.</summary>
    public HypervisorFeatures Missing(HypervisorFeatures required) => required & ~Features;

    /// <summary>Throws HypervisorFeatureNotSupported unless the driver supports all of <paramref name="required"/>.</summary>
    public void Require(HypervisorFeatures required, object? target = null)
    {
        if (Missing(required) is not HypervisorFeatures.None and var missing)
        {
            throw NotSupported(missing, target);
        }
    }

    /// <summary>The one "not supported by &lt;driver&gt;" error every optional operation fails with.</summary>
    public VmPsException NotSupported(HypervisorFeatures missing, object? target = null) =>
        new(
            VmPsErrorIds.HypervisorFeatureNotSupported,
            VmPsErrorKind.InvalidOperation,
            $"{Describe(missing)} {(BitOperations.PopCount((uint)missing) > 1 ? "are" : "is")} not supported by {Driver}.",
            target ?? Driver)
        {
            RecommendedAction = "Choose another hypervisor with -Hypervisor (Get-VmHost lists what each supports), or stop the VM first where the change can be made while it is off.",
        };

    /// <summary>What the features do, in words: "hot-plugging disks and resizing memory".</summary>
    public static string Describe(HypervisorFeatures features)
    {
        var words = Enum.GetValues<HypervisorFeatures>()
            .Where(feature => feature != HypervisorFeatures.None && features.HasFlag(feature))
            .Select(feature => feature switch
            {
                HypervisorFeatures.Vsock => "a vsock agent channel",
                HypervisorFeatures.DiskHotplug => "hot-plugging disks",
                HypervisorFeatures.NicHotplug => "hot-plugging network adapters",
                HypervisorFeatures.VirtioFs => "sharing host directories (virtio-fs)",
                HypervisorFeatures.Qcow2Disks => "qcow2 disks",
                HypervisorFeatures.DiskResize => "resizing the disk of a running VM",
                HypervisorFeatures.Pause => "pausing and resuming",
                HypervisorFeatures.Snapshot => "saving and restoring memory state",
                HypervisorFeatures.LazyRestore => "restoring memory on demand",
                HypervisorFeatures.CpuResize => "changing the vCPUs of a running VM",
                HypervisorFeatures.MemoryResize => "changing the memory of a running VM",
                HypervisorFeatures.MemoryUnplug => "taking memory out of a running VM",
                HypervisorFeatures.Uefi => "UEFI boot",
                HypervisorFeatures.Bios => "BIOS boot",
                HypervisorFeatures.CdRom => "booting from a CD-ROM image",
                HypervisorFeatures.PvhKernel => "direct boot of a PVH vmlinux",
                HypervisorFeatures.LiveDiskSnapshot => "taking a running VM's disk onto a new qcow2 file",
                HypervisorFeatures.SerialConsole => "attaching to the serial console",
                _ => feature.ToString(),
            })
            .ToList();
        var text = words.Count switch
        {
            0 => "nothing",
            1 => words[0],
            _ => string.Join(", ", words[..^1]) + " and " + words[^1],
        };
        return char.ToUpperInvariant(text[0]) + text[1..];
    }
}
