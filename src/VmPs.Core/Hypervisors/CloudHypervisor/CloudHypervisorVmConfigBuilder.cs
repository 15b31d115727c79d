using VmPs.Core.Logs;
using VmPs.Core.Shares;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>Translates a <see cref="VmLaunchSpec"/> into the VmConfig sent with PUT /vm.create.</summary>
public static class CloudHypervisorVmConfigBuilder
{
    /// <summary>
    /// The guest console is CH's 8250 serial port; the guest reboots at once on panic and through the
    /// keyboard controller, which CH handles, instead of hanging.
    /// </summary>
    public const string ConsoleArguments = "console=ttyS0 reboot=k panic=-1";

    public const string EntropySource = "/dev/urandom";

    /// <summary>Linux's memory block on x86_64: hot-plugged memory is added and onlined in these.</summary>
    public const int HotplugBlockMiB = 128;

    private const long BytesPerMiB = 1024 * 1024;

    /// <summary>Without udev the guest would leave hot-plugged memory offline; this makes its kernel online it.</summary>
    // CH's own defaults for an fs device (its --fs option), which the API requires spelled out.
    private const int FsQueues = 1;
    private const int FsQueueSize = 1024;

    private const string OnlineHotpluggedMemory = "memhp_default_state=online";

    public static VmConfig Build(VmLaunchSpec spec) => new()
    {
        Payload = Payload(spec),
        Cpus = new CpusConfig(spec.Cpus, Math.Max(spec.Cpus, spec.MaxCpus ?? spec.Cpus)),
        // vhost-user devices (virtiofsd) reach guest memory only when it is shared.
        Memory = new MemoryConfig { Size = spec.MemoryMiB * BytesPerMiB, HotplugSize = HotplugSize(spec), Shared = spec.Shares.Count > 0 ? true : null },
        Fs = spec.Shares.Count == 0
            ? null
            : spec.Shares.Select(share => new FsConfig(share.Tag, VirtioFsDaemons.SocketPath(spec.VmDirectory, share), FsQueues, FsQueueSize)).ToArray(),
        Disks = spec.Disks.Select(disk => Disk(disk)).ToArray(),
        // Only the TAP, the guest MAC and the MTU: with ip/mask CH would also configure the host side of
        // the TAP, which belongs to the bridge.
        Net = spec.NetworkInterfaces.Count == 0
            ? null
            : spec.NetworkInterfaces.Select(NetworkInterfaceValidation.Validate).Select(adapter => new NetConfig
            {
                Tap = adapter.Tap,
                Mac = adapter.MacAddress,
                Mtu = adapter.Mtu,
            }).ToArray(),
        Rng = new RngConfig(EntropySource),
        Pvpanic = true,
        Vsock = new VsockConfig(spec.VsockCid, CloudHypervisorVmFiles.In(spec.VmDirectory).VsockSocket),

        // A detached CH has no terminal: the defaults (console Tty) would fail or write nowhere. The serial
        // port carries the kernel console; the virtio console (the guest's hvc0) carries the image command's output.
        Serial = new ConsoleConfig(ConsoleMode.File, VmLogKeeper.PipeOf(spec.ConsoleLogPath)),
        Console = spec.AppLogPath is { } appLog ? new ConsoleConfig(ConsoleMode.File, VmLogKeeper.PipeOf(appLog)) : new ConsoleConfig(ConsoleMode.Off),
    };

    /// <summary>
    /// A firmware payload alone (CH loads it and it boots the first disk; a kernel beside it would be booted instead),
    /// else a direct boot of the PVH vmlinux where there is one: no decompression in the guest.
    /// </summary>
    private static PayloadConfig Payload(VmLaunchSpec spec)
    {
        if (spec.Firmware is { } firmware)
        {
            return firmware.Kind == Images.ImageFirmware.Uefi
                ? new PayloadConfig { Firmware = firmware.CodePath }
                : throw new VmPsException(
                    VmPsErrorIds.DiskImageVmUnsupported,
                    VmPsErrorKind.InvalidOperation,
                    $"VM '{spec.VmName}' boots through a BIOS, which Cloud Hypervisor does not have (only UEFI payloads).",
                    spec.VmName);
        }

        return new PayloadConfig
        {
            Kernel = spec.VmlinuxPath ?? spec.KernelPath ?? throw new ArgumentException("A direct boot needs a kernel.", nameof(spec)),
            Initramfs = spec.InitrdPath,
            Cmdline = string.Join(' ', new[] { spec.KernelArguments.Trim(), HotplugSize(spec) is null ? "" : OnlineHotpluggedMemory, ConsoleArguments }.Where(part => part.Length > 0)),
        };
    }

    /// <summary>
    /// The guest-physical room for memory that vm.resize hot-plugs (ACPI), in whole 128 MiB blocks (the guest adds memory
    /// in blocks of that size): from the VM's memory up to <see cref="VmLaunchSpec.MaxMemoryMiB"/>; null: none.
    /// </summary>
    private static long? HotplugSize(VmLaunchSpec spec) =>
        (spec.MaxMemoryMiB ?? spec.MemoryMiB) - spec.MemoryMiB is var room && room >= HotplugBlockMiB
            ? room / HotplugBlockMiB * HotplugBlockMiB * BytesPerMiB
            : null;

    /// <summary>One disk as vm.create and vm.add-disk take it; <paramref name="id"/> names a hot-plugged one for vm.remove-device.</summary>
    public static DiskConfig Disk(DiskSpec disk, string? id = null) => disk.CdRom ? throw NoCdRom(disk) : new()
    {
        Path = disk.Path,
        Readonly = disk.ReadOnly,
        Serial = disk.Serial,
        Id = id,
        ImageType = disk.Format switch
        {
            DiskImageFormat.Qcow2 => DiskImageType.Qcow2,
            _ => DiskImageType.Raw,
        },
    };

    /// <summary>CH has virtio-blk disks only: an ISO given to it as a disk would boot nothing and could be written.</summary>
    private static VmPsException NoCdRom(DiskSpec disk) => new(
        VmPsErrorIds.CdRomUnsupported,
        VmPsErrorKind.InvalidOperation,
        $"Cloud Hypervisor has no CD-ROM drive for the ISO image '{disk.Path}'.",
        disk.Path)
    {
        RecommendedAction = "Create the VM with -Hypervisor Qemu.",
    };
}
