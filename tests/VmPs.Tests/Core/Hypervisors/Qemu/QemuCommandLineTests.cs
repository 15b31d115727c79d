using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuCommandLineTests
{
    private static readonly QemuSockets Sockets = new("/vms/a/qmp.sock", "/vms/a/agent.sock", "/vms/a/state.sock", "/vms/a/console.sock");

    private static readonly QemuGuestMemory Memory = new("/dev/shm/vmps-0/a.ram", Shared: true);

    private static readonly VmLaunchSpec Spec = new()
    {
        VmName = "web",
        VmDirectory = "/vms/a",
        KernelPath = "/boot/vmlinuz",
        InitrdPath = "/cache/initrd.cpio",
        KernelArguments = "vmps.config=vdc",
        Cpus = 2,
        MemoryMiB = 512,
        Disks = [new DiskSpec("/images/rootfs.erofs", ReadOnly: true, "vmps-rootfs"), new DiskSpec("/vms/a/overlay,1.ext4", ReadOnly: false, "vmps-overlay")],
        ConsoleLogPath = "/vms/a/console.log",
        HypervisorLogPath = "/vms/a/qemu.log",
        VsockCid = 7,
    };

    [Fact]
    public void MicrovmUnderTcgGetsTheTscHintAndMmioDevices()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        AssertPair(arguments, "-machine", "microvm,acpi=on,memory-backend=mem");
        AssertPair(arguments, "-object", "memory-backend-file,id=mem,size=512M,mem-path=/dev/shm/vmps-0/a.ram,share=on");
        AssertPair(arguments, "-accel", "tcg");
        AssertPair(arguments, "-cpu", "max,erms=off,fsrm=off");
        AssertPair(arguments, "-append", "vmps.config=vdc console=ttyS0 reboot=k panic=-1 tsc_early_khz=2000000");
        AssertPair(arguments, "-smp", "2");
        AssertPair(arguments, "-m", "512M");
        Assert.Contains("-nodefaults", arguments);
        Assert.Contains("-no-reboot", arguments);
        AssertPair(arguments, "-chardev", "socket,id=console,path=/vms/a/console.sock,server=on,wait=off,logfile=/vms/a/console.out");
        AssertPair(arguments, "-device", "virtio-rng-device,rng=rng");
        AssertPair(arguments, "-device", "virtio-blk-device,drive=disk0,serial=vmps-rootfs");
        AssertPair(arguments, "-drive", "if=none,id=disk0,file=/images/rootfs.erofs,format=raw,readonly=on");
    }

    [Fact]
    public async Task A_restore_maps_a_shared_RAM_file_privately_copies_a_RAM_file_of_its_own_and_runs_a_stream_on_the_VM_shared_file()
    {
        using var scratch = new ScratchDirectory();
        var vm = scratch.Combine("vm");
        try
        {
            var stream = Directory.CreateDirectory(scratch.Combine("stream")).FullName;
            var saved = Directory.CreateDirectory(scratch.Combine("saved")).FullName;
            var checkpoint = Directory.CreateDirectory(scratch.Combine("checkpoint")).FullName;
            var savedRam = Path.Combine(saved, QemuGuestMemory.StateFileName);
            await using (var file = File.Create(savedRam))
            {
                file.SetLength(8 << 20);
                file.Position = 3 << 20;
                file.Write([1, 2, 3]);
            }

            var forked = Directory.CreateDirectory(scratch.Combine("forked")).FullName;
            File.WriteAllBytes(Path.Combine(checkpoint, QemuGuestMemory.StateFileName), [1]);
            VmPs.Core.Volumes.VolumeFiles.HardLink(Path.Combine(checkpoint, QemuGuestMemory.StateFileName), Path.Combine(forked, QemuGuestMemory.StateFileName));

            var fork = await QemuGuestMemory.ForRestoreAsync(vm, forked, CancellationToken.None);
            Assert.Equal(new QemuGuestMemory(Path.Combine(forked, QemuGuestMemory.StateFileName), Shared: false, FromStateFile: true), fork);
            AssertPair(QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, fork), "-object", $"memory-backend-file,id=mem,size=512M,mem-path={fork.Path},share=off");

            // Save-Vm's own RAM file: copied, holes and all, into the VM's shared file, which the stream left out too.
            var copied = await QemuGuestMemory.ForRestoreAsync(vm, saved, CancellationToken.None);
            Assert.Equal(new QemuGuestMemory(QemuGuestMemory.RunningFile(vm), Shared: true, FromStateFile: true), copied);
            Assert.Equal(await File.ReadAllBytesAsync(savedRam), await File.ReadAllBytesAsync(copied.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(copied.Path));
            Assert.True(File.Exists(savedRam), "the saved state is the restore's to delete, once the guest runs");

            var own = await QemuGuestMemory.ForRestoreAsync(vm, stream, CancellationToken.None);
            Assert.Equal(new QemuGuestMemory(QemuGuestMemory.RunningFile(vm), Shared: true, FromStateFile: false), own);
            Assert.StartsWith($"/dev/shm/vmps-{VmPs.Core.Native.Libc.geteuid()}/", own.Path, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(own.Path)!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(own.Path));
            Assert.Equal(0, new FileInfo(own.Path).Length);
            QemuGuestMemory.DeleteRunningFile(vm);
            Assert.False(File.Exists(own.Path));
            Assert.NotEqual(QemuGuestMemory.RunningFile(vm + "2"), own.Path);
        }
        finally
        {
            QemuGuestMemory.DeleteRunningFile(vm);
        }
    }

    [Fact]
    public async Task A_RAM_file_that_cannot_be_copied_fails_the_restore_with_the_reason_and_leaves_no_copy()
    {
        using var scratch = new ScratchDirectory();
        var vm = scratch.Combine("vm");
        try
        {
            var saved = Directory.CreateDirectory(scratch.Combine("saved")).FullName;
            var savedRam = Path.Combine(saved, QemuGuestMemory.StateFileName);
            // A link to nothing: unreadable for root too.
            File.CreateSymbolicLink(savedRam, scratch.Combine("gone"));

            var failed = await Assert.ThrowsAsync<VmPsException>(() => QemuGuestMemory.ForRestoreAsync(vm, saved, CancellationToken.None));

            Assert.Equal(VmPsErrorIds.VmRestoreFailed, failed.ErrorId);
            Assert.Contains(savedRam, failed.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(QemuGuestMemory.RunningFile(vm)));
        }
        finally
        {
            QemuGuestMemory.DeleteRunningFile(vm);
        }
    }

    [Fact]
    public void MicrovmBootsTheUncompressedVmlinuxDirectlyAndQ35TheBzImage()
    {
        var withVmlinux = Spec with { KernelPath = "/kernels/k/bzImage", VmlinuxPath = "/kernels/k/vmlinux" };

        AssertPair(QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), withVmlinux, Sockets, Memory), "-kernel", "/kernels/k/vmlinux");
        AssertPair(QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), withVmlinux, Sockets, Memory), "-kernel", "/kernels/k/bzImage");
        AssertPair(QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory), "-kernel", "/boot/vmlinuz");
    }

    [Fact]
    public void CommasInPathsAreEscapedForQemusOptionParser()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        AssertPair(arguments, "-drive", "if=none,id=disk1,file=/vms/a/overlay,,1.ext4,format=raw,readonly=off");
    }

    [Fact]
    public void KvmUsesTheHostCpuAndNoTscHint()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Kvm), Spec, Sockets, Memory);

        AssertPair(arguments, "-accel", "kvm");
        AssertPair(arguments, "-cpu", "host");
        Assert.DoesNotContain(arguments, argument => argument.Contains("tsc_early_khz", StringComparison.Ordinal));
    }

    [Fact]
    public void Q35UsesPciDevices()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), Spec, Sockets, Memory);

        AssertPair(arguments, "-machine", "q35,memory-backend=mem");
        AssertPair(arguments, "-device", "virtio-blk-pci,drive=disk0,serial=vmps-rootfs");
        AssertPair(arguments, "-device", "virtio-serial-pci");
        AssertPair(arguments, "-device", "virtio-rng-pci,rng=rng");
        Assert.DoesNotContain(arguments, argument => argument.Contains("tsc_early_khz", StringComparison.Ordinal));
    }

    [Fact]
    public void Q35_builds_vCPU_0_and_plugs_the_others_as_devices_with_room_up_to_MaxCpus_while_microvm_and_a_q35_VM_without_MaxCpus_fix_them()
    {
        var spec = Spec with { Cpus = 3, MaxCpus = 8 };
        var q35 = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec, Sockets, Memory);
        var kvm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Kvm, QemuMachine.Q35), spec with { MaxCpus = 2 }, Sockets, Memory);
        var microvm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, Sockets, Memory);
        var fixedQ35 = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec with { MaxCpus = null }, Sockets, Memory);

        AssertPair(q35, "-smp", "cpus=1,maxcpus=8,sockets=8,cores=1,threads=1");
        Assert.Equal(
            ["max-x86_64-cpu,id=vcpu1,socket-id=1,core-id=0,thread-id=0", "max-x86_64-cpu,id=vcpu2,socket-id=2,core-id=0,thread-id=0"],
            Values(q35, "-device").Where(device => device.Contains("-cpu,", StringComparison.Ordinal)));
        AssertPair(kvm, "-smp", "cpus=1,maxcpus=3,sockets=3,cores=1,threads=1");
        AssertPair(kvm, "-device", "host-x86_64-cpu,id=vcpu2,socket-id=2,core-id=0,thread-id=0");
        foreach (var arguments in new[] { microvm, fixedQ35 })
        {
            AssertPair(arguments, "-smp", "3");
            Assert.DoesNotContain(Values(arguments, "-device"), device => device.Contains("-cpu,", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Q35_keeps_its_RAM_at_the_boot_size_with_a_virtio_mem_device_for_the_rest_up_to_MaxMemoryMiB_while_microvm_fixes_it()
    {
        // Restored after a grow from 512 to 768 MiB, on a host of 2100 MiB: room for 1536 MiB (whole 128 MiB blocks), 256 plugged.
        var spec = Spec with { MemoryMiB = 768, BootMemoryMiB = 512, MaxMemoryMiB = 2100 };
        var q35 = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec, Sockets, Memory);
        var microvm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec with { BootMemoryMiB = null }, Sockets, Memory);
        var noRoom = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec with { MaxMemoryMiB = 600 }, Sockets, Memory);
        var shares = QemuCommandLine.Build(
            new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec with { Shares = [new ShareSpec("vmps-share0", "/srv/a", "/data", ReadOnly: false)] }, Sockets, Memory);

        AssertPair(q35, "-m", "512M,maxmem=2048M");
        AssertPair(q35, "-object", "memory-backend-file,id=mem,size=512M,mem-path=/dev/shm/vmps-0/a.ram,share=on");
        AssertPair(q35, "-object", "memory-backend-ram,id=vmem0,size=1536M,reserve=off");
        AssertPair(q35, "-device", "virtio-mem-pci,id=vmem,memdev=vmem0,block-size=128M,requested-size=256M");
        Assert.Contains("memhp_default_state=online_movable", Values(q35, "-append").Single());
        AssertPair(microvm, "-m", "768M");
        AssertPair(noRoom, "-m", "512M");
        AssertPair(shares, "-m", "512M");
        foreach (var arguments in new[] { microvm, noRoom, shares })
        {
            Assert.DoesNotContain(arguments, argument => argument.Contains("vmem", StringComparison.Ordinal) || argument.Contains("memhp_default_state", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Shares_get_a_vhost_user_fs_device_each_over_the_shared_guest_memory_file_and_a_VM_without_none()
    {
        var spec = Spec with { Shares = [new ShareSpec("vmps-share0", "/srv/a", "/data", ReadOnly: false), new ShareSpec("vmps-share1", "/srv/b", "/view", ReadOnly: true)] };

        var microvm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, Sockets, Memory);
        var q35 = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec, Sockets, Memory);
        var none = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        AssertPair(microvm, "-machine", "microvm,acpi=on,memory-backend=mem");
        AssertPair(microvm, "-object", "memory-backend-file,id=mem,size=512M,mem-path=/dev/shm/vmps-0/a.ram,share=on");
        AssertPair(microvm, "-global", "virtio-mmio.force-legacy=false");
        AssertPair(microvm, "-chardev", "socket,id=fs0,path=/vms/a/vmps-share0.sock");
        AssertPair(microvm, "-device", "vhost-user-fs-device,chardev=fs0,tag=vmps-share0");
        AssertPair(microvm, "-device", "vhost-user-fs-device,chardev=fs1,tag=vmps-share1");
        AssertPair(q35, "-machine", "q35,memory-backend=mem");
        AssertPair(q35, "-device", "vhost-user-fs-pci,chardev=fs1,tag=vmps-share1");
        Assert.DoesNotContain("-global", q35);
        Assert.DoesNotContain(none, argument => argument.Contains("vhost-user", StringComparison.Ordinal));
        Assert.DoesNotContain("-global", none);
    }

    [Fact]
    public void Q35HasSpareRootPortsForHotPluggedDisksAndMicrovmNone()
    {
        var q35 = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), Spec, Sockets, Memory);
        var microvm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        Assert.Equal(
            ["pcie-root-port,id=hotplug0,chassis=1", "pcie-root-port,id=hotplug1,chassis=2", "pcie-root-port,id=hotplug2,chassis=3", "pcie-root-port,id=hotplug3,chassis=4"],
            q35.Where(argument => argument.StartsWith("pcie-root-port", StringComparison.Ordinal)));
        Assert.DoesNotContain(microvm, argument => argument.StartsWith("pcie-root-port", StringComparison.Ordinal));
    }

    [Fact]
    public void AgentUsesVirtioSerialWithoutVhostVsock()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        AssertPair(arguments, "-device", "virtio-serial-device");
        AssertPair(arguments, "-chardev", "socket,id=agent,path=/vms/a/agent.sock,server=on,wait=off");
        AssertPair(arguments, "-device", "virtserialport,chardev=agent,name=org.vmps.agent");
        Assert.DoesNotContain(arguments, argument => argument.Contains("vsock", StringComparison.Ordinal));
    }

    [Fact]
    public void AgentUsesVhostVsockWithTheGuestCidWhenAvailable()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, UseVhostVsock: true), Spec, Sockets, Memory);

        AssertPair(arguments, "-device", "vhost-vsock-device,guest-cid=7");
        Assert.DoesNotContain(arguments, argument => argument.Contains("virtserialport", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(2u)]
    [InlineData(uint.MaxValue)]
    public void ReservedVsockCidIsRejected(uint cid)
    {
        var error = Assert.Throws<VmPsException>(
            () => QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, UseVhostVsock: true), Spec with { VsockCid = cid }, Sockets, Memory));

        Assert.Equal("InvalidVsockCid", error.ErrorId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("serial-longer-than-20-bytes")]
    [InlineData("a,b")]
    [InlineData("with space")]
    public void InvalidDiskSerialIsRejected(string serial)
    {
        var spec = Spec with { Disks = [new DiskSpec("/images/rootfs.erofs", true, serial)] };

        var error = Assert.Throws<VmPsException>(() => QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, Sockets, Memory));

        Assert.Equal("InvalidDiskSerial", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void SocketPathsLongerThanAUnixAddressAllowsAreRejected()
    {
        var error = Assert.Throws<VmPsException>(() => QemuSockets.For("/" + new string('d', 100)));

        Assert.Equal("SocketPathTooLong", error.ErrorId);
    }

    private static VmLaunchSpec DiskImageSpec(ImageFirmware kind, string code, string? variables) => Spec with
    {
        KernelPath = null,
        InitrdPath = null,
        KernelArguments = "",
        Firmware = new FirmwareSpec(kind, code, variables),
        Disks = [new DiskSpec("/vms/a/disk.qcow2", ReadOnly: false, "vmps-disk", DiskImageFormat.Qcow2)],
    };

    [Fact]
    public void A_uefi_disk_image_boots_q35_through_read_only_ovmf_code_and_the_vms_own_variable_store()
    {
        var arguments = QemuCommandLine.Build(
            new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35),
            DiskImageSpec(ImageFirmware.Uefi, "/usr/share/OVMF/OVMF_CODE_4M.fd", "/vms/a/efivars,1.fd"),
            Sockets, Memory);

        AssertPair(arguments, "-machine", "q35,memory-backend=mem");
        AssertPair(arguments, "-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
        AssertPair(arguments, "-drive", "if=pflash,unit=1,format=raw,file=/vms/a/efivars,,1.fd");
        AssertPair(arguments, "-drive", "if=none,id=disk0,file=/vms/a/disk.qcow2,format=qcow2,readonly=off");
        AssertPair(arguments, "-device", "virtio-blk-pci,drive=disk0,serial=vmps-disk,bootindex=0");
        Assert.DoesNotContain("-kernel", arguments);
        Assert.DoesNotContain("-initrd", arguments);
        Assert.DoesNotContain("-append", arguments);
        Assert.DoesNotContain("-bios", arguments);
    }

    [Fact]
    public void A_bios_disk_image_boots_through_seabios_and_a_direct_boot_has_no_boot_index()
    {
        var bios = QemuCommandLine.Build(
            new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), DiskImageSpec(ImageFirmware.Bios, "/usr/share/seabios/bios-256k.bin", null), Sockets, Memory);
        var direct = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), Spec, Sockets, Memory);

        AssertPair(bios, "-bios", "/usr/share/seabios/bios-256k.bin");
        Assert.DoesNotContain(bios, argument => argument.StartsWith("if=pflash", StringComparison.Ordinal));
        Assert.DoesNotContain(direct, argument => argument.Contains("bootindex", StringComparison.Ordinal));
    }

    [Fact]
    public void A_machine_booted_through_firmware_resets_in_place_and_a_direct_boot_ends_on_its_reboot()
    {
        var q35 = new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35);

        var uefi = QemuCommandLine.Build(q35, DiskImageSpec(ImageFirmware.Uefi, "/usr/share/OVMF/OVMF_CODE_4M.fd", null), Sockets, Memory);
        var bios = QemuCommandLine.Build(q35, DiskImageSpec(ImageFirmware.Bios, "/usr/share/seabios/bios-256k.bin", null), Sockets, Memory);
        var directQ35 = QemuCommandLine.Build(q35, Spec, Sockets, Memory);
        var directMicrovm = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), Spec, Sockets, Memory);

        Assert.DoesNotContain("-no-reboot", uefi);
        Assert.DoesNotContain("-no-reboot", bios);
        Assert.Contains("-no-reboot", directQ35);
        Assert.Contains("-no-reboot", directMicrovm);
    }

    [Fact]
    public void Microvm_has_no_firmware_to_boot_a_disk_image_through()
    {
        var error = Assert.Throws<VmPsException>(() => QemuCommandLine.Build(
            new QemuDriverOptions("qemu", Accelerator.Tcg), DiskImageSpec(ImageFirmware.Uefi, "/usr/share/OVMF/OVMF_CODE_4M.fd", null), Sockets, Memory));

        Assert.Equal(VmPsErrorIds.DiskImageVmUnsupported, error.ErrorId);
        Assert.Equal("web", error.Target);
    }

    [Fact]
    public void An_iso_goes_read_only_into_a_q35_cd_rom_drive_that_firmware_boots_before_the_disk()
    {
        var spec = DiskImageSpec(ImageFirmware.Uefi, "/usr/share/OVMF/OVMF_CODE_4M.fd", null) with
        {
            Disks =
            [
                new DiskSpec("/vms/a/disk.qcow2", ReadOnly: false, "vmps-disk", DiskImageFormat.Qcow2),
                new DiskSpec("/vms/a/seed.iso", ReadOnly: true, "vmps-seed"),
                new DiskSpec("/isos/debian,12.iso", ReadOnly: true, "vmps-iso", CdRom: true),
            ],
        };

        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35), spec, Sockets, Memory);

        AssertPair(arguments, "-drive", "if=none,id=disk2,file=/isos/debian,,12.iso,format=raw,readonly=on,media=cdrom");
        AssertPair(arguments, "-device", "ide-cd,drive=disk2,bus=ide.0,serial=vmps-iso,bootindex=0");
        AssertPair(arguments, "-device", "virtio-blk-pci,drive=disk0,serial=vmps-disk,bootindex=1");
        AssertPair(arguments, "-device", "virtio-blk-pci,drive=disk1,serial=vmps-seed");
    }

    [Fact]
    public void Microvm_has_no_cd_rom_drive()
    {
        var spec = Spec with { Disks = [.. Spec.Disks, new DiskSpec("/isos/a.iso", ReadOnly: true, "vmps-iso", CdRom: true)] };

        var error = Assert.Throws<VmPsException>(() => QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, Sockets, Memory));

        Assert.Equal(VmPsErrorIds.CdRomUnsupported, error.ErrorId);
    }

    private static IEnumerable<string> Values(IReadOnlyList<string> arguments, string option) =>
        Enumerable.Range(0, arguments.Count - 1).Where(i => arguments[i] == option).Select(i => arguments[i + 1]);

    private static void AssertPair(IReadOnlyList<string> arguments, string option, string value)
    {
        var found = Enumerable.Range(0, arguments.Count - 1).Any(i => arguments[i] == option && arguments[i + 1] == value);
        Assert.True(found, $"expected '{option} {value}' in: {string.Join(' ', arguments)}");
    }
}
