using System.Globalization;
using VmPs.Core.Host;
using VmPs.Core.Images;
using VmPs.Core.Logs;
using VmPs.Core.Shares;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>Builds the qemu-system-x86_64 argument array for one VM.</summary>
internal static class QemuCommandLine
{
    public const string AgentPortName = "org.vmps.agent";

    public const string AppPortName = "org.vmps.app";

    /// <summary>Spare PCIe root ports of a q35 VM, each taking one hot-plugged disk (q35's root bus itself takes none).</summary>
    public const int HotplugPortCount = 4;

    // The ports of q35's built-in AHCI controller, where CD-ROM drives go.
    private const int AhciPorts = 6;

    // virtio-blk serials are at most 20 bytes (VIRTIO_BLK_ID_BYTES); longer ones are cut off silently.
    private const int MaxDiskSerialLength = 20;

    public static IReadOnlyList<string> Build(QemuDriverOptions options, VmLaunchSpec spec, QemuSockets sockets, QemuGuestMemory memory)
    {
        var microvm = options.Machine == QemuMachine.Microvm;
        string Device(string virtioName) => microvm ? $"{virtioName}-device" : $"{virtioName}-pci";

        var arguments = new List<string>
        {
            "-name", Escape(spec.VmName),
            "-machine", (microvm ? "microvm,acpi=on" : "q35") + $",memory-backend={QemuGuestMemory.BackendId}",
            "-accel", options.Accelerator == Accelerator.Kvm ? "kvm" : "tcg",
        };
        // Under TCG, "max" offers RDRAND, so the guest kernel seeds its CRNG at boot; with the default
        // qemu64 model getrandom() (which the guest's .NET runtime calls at startup) blocks for seconds. It leaves out
        // ERMS and FSRM: with them the guest kernel copies and clears memory (copy_user, clear_user, memcpy) with
        // rep movsb/stosb, which TCG runs one byte per iteration; without them it moves 8 bytes at a time, which
        // doubled a guest's write throughput to a volume (bench/README.md, storage).
        var cpuModel = options.Accelerator == Accelerator.Kvm ? "host" : "max,erms=off,fsrm=off";
        arguments.AddRange(["-cpu", cpuModel]);
        if (microvm || spec.MaxCpus is not { } maxCpus)
        {
            // Every vCPU built in: microvm plugs none, and a q35 VM without MaxCpus was launched (and maybe saved) by a
            // VmPs from before vCPUs were devices.
            arguments.AddRange(["-smp", spec.Cpus.ToString(CultureInfo.InvariantCulture)]);
        }
        else
        {
            arguments.AddRange(["-smp", QemuCpuHotplug.Topology(Math.Max(spec.Cpus, maxCpus))]);
            arguments.AddRange(QemuCpuHotplug.BootDevices(cpuModel, spec.Cpus).SelectMany(device => new[] { "-device", device }));
        }

        arguments.AddRange(
        [
            "-m", microvm ? spec.MemoryMiB.ToString(CultureInfo.InvariantCulture) + "M" : QemuMemoryHotplug.MemoryArgument(spec),
            "-nodefaults", "-no-user-config", "-nographic",
        ]);
        if (spec.Firmware is null)
        {
            // A direct boot is one run of VmPs's init, which ends with its poweroff marker: a reboot (or a panic, with
            // panic=-1) ends QEMU too. A machine booted through firmware (a disk image, an ISO install) resets in place
            // when its guest reboots, as hardware does, and runs on.
            arguments.Add("-no-reboot");
        }

        // vhost-user devices (virtiofsd) reach guest memory through the backend's file, which therefore must be shared.
        arguments.AddRange(["-object", memory.BackendArgument(microvm ? spec.MemoryMiB : QemuMemoryHotplug.BootMiB(spec))]);
        if (!microvm)
        {
            arguments.AddRange(QemuMemoryHotplug.Arguments(spec));
        }
        if (spec.Shares.Count > 0 && microvm)
        {
            // virtiofsd (libvhost-user) refuses legacy virtio devices, which microvm's virtio-mmio transports are by default.
            arguments.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        }

        arguments.AddRange(spec.Firmware is { } firmware ? FirmwareArguments(options, spec, firmware) : DirectBootArguments(options, spec));
        arguments.AddRange(
        [
            // A socket for Enter-Vm -Console that also copies every byte the guest writes into the console log; with no
            // client, QEMU drops what the socket would get and still logs it. The socket takes no input until one connects.
            "-chardev", $"socket,id=console,path={Escape(sockets.Console)},server=on,wait=off,logfile={Escape(VmLogKeeper.PipeOf(spec.ConsoleLogPath))}",
            "-serial", "chardev:console",
            "-chardev", $"socket,id=qmp,path={Escape(sockets.Qmp)},server=on,wait=off",
            "-mon", "chardev=qmp,mode=control",
            "-object", "rng-random,id=rng,filename=/dev/urandom",
            "-device", $"{Device("virtio-rng")},rng=rng",
        ]);
        if (spec.EventLogPath is { } events)
        {
            arguments.AddRange(QemuEventLog.Arguments(events, Escape));
        }

        var bootOrder = BootOrder(spec);
        var cdRoms = 0;
        for (var index = 0; index < spec.Disks.Count; index++)
        {
            var disk = spec.Disks[index];
            ValidateSerial(disk);
            var bootIndex = bootOrder.IndexOf(index) is var position and >= 0 ? $",bootindex={position}" : "";
            if (disk.CdRom)
            {
                RequireCdRomDrive(options, spec, cdRoms);
                // On q35's built-in AHCI controller, one drive per port; the image is never written.
                arguments.AddRange(
                [
                    "-drive", $"if=none,id={DriveId(index)},file={Escape(disk.Path)},format=raw,readonly=on,media=cdrom",
                    "-device", $"ide-cd,drive={DriveId(index)},bus=ide.{cdRoms++},serial={disk.Serial}{bootIndex}",
                ]);
                continue;
            }

            var format = disk.Format == DiskImageFormat.Qcow2 ? "qcow2" : "raw";
            // A read-only drive takes a shared image lock, so many VMs can use one rootfs image.
            var drive = $"if=none,id={DriveId(index)},file={Escape(disk.Path)},format={format},readonly={(disk.ReadOnly ? "on" : "off")}";
            arguments.AddRange(["-drive", drive, "-device", $"{Device("virtio-blk")},drive={DriveId(index)},serial={disk.Serial}{bootIndex}"]);
        }

        if (!microvm)
        {
            for (var index = 0; index < HotplugPortCount; index++)
            {
                arguments.AddRange(["-device", $"pcie-root-port,id={HotplugPort(index)},chassis={index + 1}"]);
            }
        }

        for (var index = 0; index < spec.NetworkInterfaces.Count; index++)
        {
            var adapter = NetworkInterfaceValidation.Validate(spec.NetworkInterfaces[index]);
            // script=no/downscript=no: the TAP exists, plugged into its bridge; QEMU only opens it.
            arguments.AddRange(
            [
                "-netdev", $"tap,id=net{index},ifname={adapter.Tap},script=no,downscript=no",
                "-device", $"{Device("virtio-net")},netdev=net{index},mac={adapter.MacAddress}",
            ]);
        }

        for (var index = 0; index < spec.Shares.Count; index++)
        {
            var share = spec.Shares[index];
            arguments.AddRange(
            [
                "-chardev", $"socket,id=fs{index},path={Escape(VirtioFsDaemons.SocketPath(spec.VmDirectory, share))}",
                "-device", $"{Device("vhost-user-fs")},chardev=fs{index},tag={Escape(share.Tag)}",
            ]);
        }

        if (!options.UseVhostVsock || spec.AppLogPath is not null)
        {
            arguments.AddRange(["-device", Device("virtio-serial")]);
        }

        if (spec.AppLogPath is { } appLog)
        {
            // A console port on the virtio-serial bus: the guest's /dev/hvc0, where the image's command writes.
            arguments.AddRange(["-chardev", $"file,id=app,path={Escape(VmLogKeeper.PipeOf(appLog))}", "-device", $"virtconsole,chardev=app,name={AppPortName}"]);
        }

        if (options.UseVhostVsock)
        {
            ValidateCid(spec.VsockCid);
            arguments.AddRange(["-device", $"{Device("vhost-vsock")},guest-cid={spec.VsockCid.ToString(CultureInfo.InvariantCulture)}"]);
        }
        else
        {
            arguments.AddRange(
            [
                "-chardev", $"socket,id=agent,path={Escape(sockets.Agent)},server=on,wait=off",
                "-device", $"virtserialport,chardev=agent,name={AgentPortName}",
            ]);
        }

        return arguments;
    }

    public static string HotplugPort(int index) => $"hotplug{index}";

    /// <summary>
    /// The disks firmware tries, in order (their bootindex): the CD-ROMs, then the first disk, and no other (the seed
    /// disk and volumes hold no bootloader). A direct boot has none.
    /// </summary>
    private static List<int> BootOrder(VmLaunchSpec spec)
    {
        if (spec.Firmware is null)
        {
            return [];
        }

        var indexes = Enumerable.Range(0, spec.Disks.Count).ToList();
        return [.. indexes.Where(index => spec.Disks[index].CdRom), .. indexes.Where(index => !spec.Disks[index].CdRom).Take(1)];
    }

    /// <summary>q35's AHCI controller has six ports (ide.0 to ide.5); microvm has no such controller.</summary>
    private static void RequireCdRomDrive(QemuDriverOptions options, VmLaunchSpec spec, int drivesSoFar)
    {
        if (options.Machine != QemuMachine.Q35 || drivesSoFar >= AhciPorts)
        {
            throw new VmPsException(
                VmPsErrorIds.CdRomUnsupported,
                VmPsErrorKind.InvalidOperation,
                options.Machine != QemuMachine.Q35
                    ? $"VM '{spec.VmName}' has a CD-ROM, which QEMU's {options.Machine.ToString().ToLowerInvariant()} machine does not have."
                    : $"VM '{spec.VmName}' has more than {AhciPorts} CD-ROMs, the ports of q35's AHCI controller.",
                spec.VmName)
            {
                RecommendedAction = "Create the VM with -MachineType Q35 and at most one ISO image.",
            };
        }
    }

    /// <summary>microvm loads a PVH vmlinux directly (no decompression); q35 boots the bzImage.</summary>
    private static IEnumerable<string> DirectBootArguments(QemuDriverOptions options, VmLaunchSpec spec)
    {
        var kernel = options.Machine == QemuMachine.Microvm ? spec.VmlinuxPath ?? spec.KernelPath : spec.KernelPath;
        if (kernel is null || spec.InitrdPath is null)
        {
            throw new ArgumentException("A direct boot needs a kernel and an initrd.", nameof(spec));
        }

        return ["-kernel", kernel, "-initrd", spec.InitrdPath, "-append", KernelArguments(options, spec)];
    }

    /// <summary>
    /// OVMF as two flash devices, its code read-only (shared by every VM) and the VM's own variable store writable;
    /// SeaBIOS as the BIOS ROM. Only q35 has firmware (microvm boots kernels only).
    /// </summary>
    private static IEnumerable<string> FirmwareArguments(QemuDriverOptions options, VmLaunchSpec spec, FirmwareSpec firmware)
    {
        if (options.Machine != QemuMachine.Q35)
        {
            throw new VmPsException(
                VmPsErrorIds.DiskImageVmUnsupported,
                VmPsErrorKind.InvalidOperation,
                $"VM '{spec.VmName}' boots through firmware, which QEMU's {options.Machine.ToString().ToLowerInvariant()} machine does not have.",
                spec.VmName)
            {
                RecommendedAction = "Create the VM with -MachineType Q35.",
            };
        }

        if (firmware.Kind == ImageFirmware.Bios)
        {
            return ["-bios", firmware.CodePath];
        }

        var flash = new List<string> { "-drive", $"if=pflash,unit=0,format=raw,readonly=on,file={Escape(firmware.CodePath)}" };
        if (firmware.VariablesPath is { } variables)
        {
            flash.AddRange(["-drive", $"if=pflash,unit=1,format=raw,file={Escape(variables)}"]);
        }

        return flash;
    }

    /// <summary>The spec's arguments plus what this driver's devices need: the serial console and halting on panic.</summary>
    internal static string KernelArguments(QemuDriverOptions options, VmLaunchSpec spec)
    {
        var arguments = new List<string> { spec.KernelArguments.Trim(), "console=ttyS0", "reboot=k", "panic=-1" };
        if (options.Machine == QemuMachine.Q35 && QemuMemoryHotplug.RoomMiB(spec) > 0)
        {
            // Plugged memory is used at once, and movable, so that the kernel can empty a block again to give it back.
            arguments.Add("memhp_default_state=online_movable");
        }

        if (options.Machine == QemuMachine.Microvm && options.Accelerator == Accelerator.Tcg)
        {
            // Without it the kernel often hangs calibrating the TSC under TCG on microvm (no PIT to calibrate against).
            arguments.Add("tsc_early_khz=2000000");
        }

        return string.Join(' ', arguments.Where(argument => argument.Length > 0));
    }

    private static void ValidateCid(uint cid)
    {
        // 0-2 are reserved (hypervisor, local, host); U32_MAX is VMADDR_CID_ANY.
        if (cid < 3 || cid == uint.MaxValue)
        {
            throw new VmPsException(VmPsErrorIds.InvalidVsockCid, VmPsErrorKind.InvalidArgument, $"Vsock context id {cid} is reserved: guests need 3 or more.", cid);
        }
    }

    /// <summary>The -drive id (QMP's device name) of the launch spec's disk number <paramref name="index"/>.</summary>
    internal static string DriveId(int index) => $"disk{index}";

    internal static void ValidateSerial(DiskSpec disk)
    {
        if (disk.Serial.Length is 0 or > MaxDiskSerialLength || disk.Serial.Any(c => c is ',' || char.IsWhiteSpace(c) || c > '~'))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidDiskSerial,
                VmPsErrorKind.InvalidArgument,
                $"Disk serial '{disk.Serial}' of '{disk.Path}' must be 1 to {MaxDiskSerialLength} printable ASCII characters without commas or spaces.",
                disk.Serial);
        }
    }

    /// <summary>QEMU option values are comma-separated: a literal comma is written twice.</summary>
    private static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}
