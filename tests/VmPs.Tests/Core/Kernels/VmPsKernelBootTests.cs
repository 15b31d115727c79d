using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Kernels;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Protocol.Logs;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Core.State;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Kernels;

/// <summary>
/// The real VmPs kernel (built from linux-source-6.1 by <see cref="KernelBuilder"/>, cached on the machine): its
/// .config, its images, and real QEMU TCG boots of it, the vmlinux directly on microvm and the bzImage on q35.
/// </summary>
public sealed class VmPsKernelBootTests : IClassFixture<VmPsTestKernel>, IDisposable
{
    // Bounds for a slow, shared machine, not speed assertions.
    private static readonly TimeSpan BootBound = TimeSpan.FromMinutes(3);

    private readonly VmPsTestKernel fixture;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public VmPsKernelBootTests(VmPsTestKernel fixture, ITestOutputHelper output)
    {
        this.fixture = fixture;
        output.WriteLine(fixture.Report);
    }

    private VmPsKernel Kernel => fixture.Kernel;

    public void Dispose()
    {
        foreach (var pid in HostProcesses.Mentioning(home.Paths.Root).Concat(HostProcesses.Mentioning(scratch.Path)))
        {
            ProcessProbe.KillAsync(new ProcessIdentity(pid, 0), TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }

        home.Dispose();
        scratch.Dispose();
    }

    [RequiresVmPsKernelFact]
    public void The_built_config_kept_every_setting_of_the_fragment_and_has_no_modules_sound_usb_graphics_or_9p()
    {
        var built = File.ReadAllText(Kernel.ConfigPath);
        // A stale kernel (see VmPsTestKernel.Report) is checked against the fragment it was built from.
        var fragment = fixture.IsStale
            ? KernelConfigFragment.Parse(File.ReadAllText(Path.Combine(Kernel.Directory, VmPsKernel.FragmentFileName)), VmPsKernel.FragmentFileName)
            : KernelConfigFragment.VmPs;

        Assert.Empty(fragment.FindDropped(built));
        Assert.Contains("# CONFIG_MODULES is not set", built);
        Assert.DoesNotContain("=m\n", built);
        Assert.All(
            new[] { "CONFIG_SOUND", "CONFIG_USB", "CONFIG_USB_SUPPORT", "CONFIG_DRM", "CONFIG_FB", "CONFIG_VT", "CONFIG_NET_9P", "CONFIG_9P_FS", "CONFIG_SERIO", "CONFIG_PARPORT", "CONFIG_ATA", "CONFIG_SCSI" },
            option => Assert.DoesNotContain($"\n{option}=y", built));
        Assert.Contains("CONFIG_LZ4_DECOMPRESS=y", built);
    }

    [RequiresVmPsKernelFact]
    public async Task Both_images_are_the_built_release_and_only_the_vmlinux_has_a_PVH_entry()
    {
        Assert.Equal(Kernel.Release, await KernelLocator.ReadVersionAsync(Kernel.BzImagePath, CancellationToken.None));
        Assert.Equal(Kernel.Release, await KernelLocator.ReadVersionAsync(Kernel.VmlinuxPath, CancellationToken.None));
        await using (var vmlinux = File.OpenRead(Kernel.VmlinuxPath))
        {
            Assert.True(ElfFile.Read(vmlinux)!.HasNote("Xen", 18), "no XEN_ELFNOTE_PHYS32_ENTRY note");
        }

        await using (var bzImage = File.OpenRead(Kernel.BzImagePath))
        {
            Assert.Null(ElfFile.Read(bzImage));
        }
        Assert.EndsWith("-vmps", Kernel.Release);
    }

    [RequiresVmPsKernelFact]
    public async Task New_Vm_uses_the_VmPs_kernel_which_microvm_boots_directly_with_no_modules_in_the_initrd_or_the_boot()
    {
        var seeded = await fixture.SeedAsync(home.Paths);
        var report = await HostProbe.ProbeAsync(home.Paths, CancellationToken.None);
        var manager = new VmManager(home.Paths);

        var created = await manager.CreateAsync(new VmCreateOptions { Name = "vmpsk", Image = "busybox", Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        var started = await manager.StartAsync("vmpsk", new VmStartOptions { Timeout = BootBound }, null, CancellationToken.None);
        var qemuArguments = File.ReadAllText($"/proc/{started.ProcessId}/cmdline").Split('\0');
        // The init sets these up after the agent is ready; the agent holds the first exec until it has.
        var system = await manager.ExecAsync(
            "vmpsk",
            new VmExecOptions { Command = ["sh", "-c", "hostname; cat /sys/class/net/lo/flags; grep -cE ' /(dev/pts|dev/shm|run|tmp) ' /proc/mounts"] },
            CancellationToken.None);
        var uname = await manager.ExecAsync("vmpsk", new VmExecOptions { Command = ["uname", "-r"] }, CancellationToken.None);
        var moduleSupport = await manager.ExecAsync("vmpsk", new VmExecOptions { Command = ["ls", "/proc/modules"] }, CancellationToken.None);
        var metadata = await manager.ExecAsync("vmpsk", new VmExecOptions { Command = ["wget", "-qO-", "http://169.254.169.254/latest/meta-data/local-hostname"] }, CancellationToken.None);
        await manager.StopAsync("vmpsk", new VmStopOptions(), CancellationToken.None);
        var init = await manager.GetInitLogAsync("vmpsk", new VmLogOptions(), CancellationToken.None).ToListAsync();

        Assert.Equal(seeded, report.VmPsKernel);
        Assert.Equal(seeded.ToKernelInfo(), report.DefaultKernel);
        Assert.Equal(KernelLocator.FindDefault(), report.DistroKernel);
        Assert.Equal(seeded.BzImagePath, created.KernelPath);
        Assert.Equal(seeded.VmlinuxPath, qemuArguments[Array.IndexOf(qemuArguments, "-kernel") + 1]);
        Assert.Equal("microvm,acpi=on,memory-backend=mem", qemuArguments[Array.IndexOf(qemuArguments, "-machine") + 1]);
        var initrdEntries = await InitrdEntriesAsync(qemuArguments[Array.IndexOf(qemuArguments, "-initrd") + 1]);
        Assert.Contains("init", initrdEntries);
        Assert.DoesNotContain(initrdEntries, entry => entry.StartsWith("vmps", StringComparison.Ordinal));
        Assert.Equal((0, "vmpsk\n0x9\n4"), (system.ExitCode, system.Stdout.Trim()));
        Assert.Equal((0, seeded.Release), (uname.ExitCode, uname.Stdout.Trim()));
        Assert.NotEqual(0, moduleSupport.ExitCode);
        Assert.DoesNotContain(init, record => record.Phase == InitLogPhases.Modules);
        var agentReady = init.FindIndex(record => record.Phase == InitLogPhases.Agent && record.Message.StartsWith("agent ready", StringComparison.Ordinal));
        Assert.InRange(agentReady, 0, init.FindIndex(record => record.Phase == InitLogPhases.Network));
        // A kernel without veth (the stale cached kernel of before CONFIG_VETH) boots on without instance metadata
        // and says so once; one with it serves IMDS from the init's own network namespace.
        var hasVeth = File.ReadAllText(Kernel.ConfigPath).Contains("\nCONFIG_VETH=y\n", StringComparison.Ordinal);
        Assert.Equal(hasVeth ? (0, "vmpsk") : (1, ""), (metadata.ExitCode, metadata.Stdout.Trim()));
        Assert.Equal(
            hasVeth ? [] : ["the instance metadata service is not available"],
            init.Where(record => record.Level != InitLogLevels.Info).Select(record => record.Message));
    }

    [RequiresVmPsKernelFact]
    public async Task A_share_and_a_volume_mount_in_a_guest_of_the_VmPs_kernel_which_has_virtio_fs_and_ext4_built_in()
    {
        await fixture.SeedAsync(home.Paths);
        var manager = new VmManager(home.Paths);
        var shared = Directory.CreateDirectory(scratch.Combine("shared")).FullName;
        var seed = Directory.CreateDirectory(scratch.Combine("seed")).FullName;
        await File.WriteAllTextAsync(Path.Combine(seed, "seed.txt"), "from the volume");
        await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 32L << 20, FromPath = seed }, CancellationToken.None);
        await manager.CreateAsync(
            new VmCreateOptions
            {
                Name = "storage", Image = "busybox", Hypervisor = HypervisorKind.Qemu,
                Shares = [ShareValidation.Parse($"{shared}:/mnt/share")], Volumes = [VolumeValidation.ParseAttachment("data:/srv/data")],
            },
            CancellationToken.None);

        await manager.StartAsync("storage", new VmStartOptions { Timeout = BootBound }, null, CancellationToken.None);
        var mounts = await manager.ExecAsync(
            "storage",
            new VmExecOptions { Command = ["sh", "-c", "awk '$2 == \"/mnt/share\" || $2 == \"/srv/data\" { print $2, $3 }' /proc/mounts; cat /srv/data/seed.txt; echo from the guest > /mnt/share/guest.txt"] },
            CancellationToken.None);
        await manager.StopAsync("storage", new VmStopOptions(), CancellationToken.None);
        var init = await manager.GetInitLogAsync("storage", new VmLogOptions(), CancellationToken.None).ToListAsync();

        Assert.Equal((0, "/srv/data ext4\n/mnt/share virtiofs\nfrom the volume"), (mounts.ExitCode, mounts.Stdout.Trim()));
        Assert.Equal("from the guest\n", await File.ReadAllTextAsync(Path.Combine(shared, "guest.txt")));
        // Built in, nothing to load: the init loads no module for the share or the volume.
        Assert.DoesNotContain(init, record => record.Phase == InitLogPhases.Modules);
        Assert.DoesNotContain(init, record => record.Level == InitLogLevels.Error);
    }

    [RequiresVmPsKernelFact]
    public async Task Kernel_still_overrides_the_VmPs_kernel()
    {
        await fixture.SeedAsync(home.Paths);
        var distro = KernelLocator.FindDefault()!;
        var manager = new VmManager(home.Paths);

        var vm = await manager.CreateAsync(
            new VmCreateOptions { Name = "distro", Image = "busybox", Hypervisor = HypervisorKind.Qemu, KernelPath = distro.Path },
            CancellationToken.None);

        Assert.Equal(distro.Path, vm.KernelPath);
    }

    [RequiresVmPsKernelFact]
    public async Task Q35_boots_the_bzImage_through_the_VmPs_init()
    {
        var qemu = DetachedProcess.FindOnPath("qemu-system-x86_64")!;
        var driver = new QemuDriver(new QemuDriverOptions(qemu, Accelerator.Tcg, QemuMachine.Q35));
        var initrd = await new InitrdBuilder(home.Paths).BuildAsync(GuestBinary.Locate(), Kernel.ToKernelInfo(), CancellationToken.None);
        var vmDirectory = Directory.CreateDirectory(scratch.Combine("q35")).FullName;
        var spec = new VmLaunchSpec
        {
            VmName = "q35",
            VmDirectory = vmDirectory,
            KernelPath = Kernel.BzImagePath,
            VmlinuxPath = Kernel.VmlinuxPath,
            InitrdPath = initrd,
            KernelArguments = KvmBootTest.ProbeKernelArgument,
            Cpus = 1,
            MemoryMiB = 256,
            Disks = [],
            ConsoleLogPath = Path.Combine(vmDirectory, "console.log"),
            HypervisorLogPath = Path.Combine(vmDirectory, "qemu.log"),
            VsockCid = 3,
        };

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);
        var qemuArguments = File.ReadAllText($"/proc/{instance.Process.Pid}/cmdline").Split('\0');
        var poweredOff = await ProcessProbe.WaitForExitAsync(instance.Process, BootBound, CancellationToken.None);
        await driver.KillAsync(instance, CancellationToken.None);

        Assert.Equal(Kernel.BzImagePath, qemuArguments[Array.IndexOf(qemuArguments, "-kernel") + 1]);
        Assert.True(poweredOff, "the q35 guest did not power off");
        Assert.Contains(KvmBootTest.Marker, await File.ReadAllTextAsync(spec.ConsoleLogPath));
    }

    [RequiresVmPsKernelFact]
    public async Task A_kernel_that_does_not_boot_is_reported_by_Start_Vm_with_the_last_console_lines()
    {
        var seeded = await fixture.SeedAsync(home.Paths);
        var manager = new VmManager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = "panics", Image = "busybox", Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        // The initrd Start-Vm will use (cached by content), made unreadable for the kernel: it finds no /init and no
        // root device, and panics.
        var initrd = await new InitrdBuilder(home.Paths).BuildAsync(GuestBinary.Locate(), seeded.ToKernelInfo(), CancellationToken.None);
        await File.WriteAllBytesAsync(initrd, new byte[64 * 1024]);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.StartAsync("panics", new VmStartOptions { Timeout = BootBound }, null, CancellationToken.None));
        var vm = await manager.FindAsync("panics", CancellationToken.None);

        Assert.Equal("VmExitedBeforeAgentReady", error.ErrorId);
        Assert.Contains("Last console lines:", error.Message);
        Assert.Contains("Kernel panic - not syncing", error.Message);
        Assert.Contains("Kernel panic - not syncing", vm!.StatusDetail);
    }

    /// <summary>The names in the initrd (a plain cpio), listed by the real cpio tool.</summary>
    private static async Task<string[]> InitrdEntriesAsync(string initrd)
    {
        var listing = await ExternalTool.RunCheckedAsync("cpio", ["-i", "-t", "-F", initrd], CancellationToken.None);
        return listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
