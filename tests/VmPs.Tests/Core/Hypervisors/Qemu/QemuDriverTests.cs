using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

/// <summary>
/// Real boots of the host's distro kernel under QEMU TCG with the VmPs initrd and the real guest
/// binary in probe mode (it prints the probe marker and powers off).
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class QemuDriverTests : IDisposable
{
    // A bound for a slow, shared machine, not a speed assertion (a boot takes about 3 s).
    private static readonly TimeSpan BootBound = TimeSpan.FromMinutes(2);

    private readonly ScratchDirectory scratch = new();
    private readonly QemuDriver driver;

    public QemuDriverTests()
    {
        var qemu = DetachedProcess.FindOnPath("qemu-system-x86_64") ?? "qemu-system-x86_64";
        driver = new QemuDriver(new QemuDriverOptions(qemu, Accelerator.Tcg, UseVhostVsock: File.Exists("/dev/vhost-vsock")));
    }

    public void Dispose()
    {
        foreach (var pid in HostProcesses.Mentioning(scratch.Path))
        {
            ProcessProbe.KillAsync(new ProcessIdentity(pid, 0), TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
        }

        scratch.Dispose();
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public async Task GuestBootsPrintsItsMarkerOnTheConsoleAndPowersOff()
    {
        var spec = await ProbeSpecAsync("boot");

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);

        Assert.Equal(HypervisorKind.Qemu, instance.Kind);
        Assert.Equal(Path.Combine(spec.VmDirectory, "qmp.sock"), instance.ControlSocketPath);
        Assert.Equal(
            File.Exists("/dev/vhost-vsock") ? AgentEndpoint.KernelVsock(spec.VsockCid) : AgentEndpoint.VirtioSerial(Path.Combine(spec.VmDirectory, "agent.sock")),
            instance.Agent);
        Assert.True(await ProcessProbe.WaitForExitAsync(instance.Process, BootBound, CancellationToken.None), "the guest did not power off");
        Assert.Contains(KvmBootTest.Marker, await File.ReadAllTextAsync(spec.ConsoleLogPath));

        await driver.KillAsync(instance, CancellationToken.None);
        Assert.False(File.Exists(instance.ControlSocketPath));
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public async Task PowerButtonReachesQemuAndKillLeavesNoProcess()
    {
        var spec = await ProbeSpecAsync("stop");
        var instance = await LaunchPausedAsync(spec);

        await driver.PressPowerButtonAsync(instance, CancellationToken.None);
        await driver.KillAsync(instance, CancellationToken.None);

        Assert.False(ProcessProbe.IsRunning(instance.Process));
        Assert.Empty(HostProcesses.Mentioning(spec.VmDirectory));
        Assert.False(File.Exists(instance.ControlSocketPath));
        Assert.False(File.Exists(Path.Combine(spec.VmDirectory, "agent.sock")));
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public async Task ReadOnlyDiskIsSharedBetweenVmsButNotWithAWriterOrASecondStart()
    {
        var rootfs = scratch.Combine("rootfs.img");
        await using (var image = File.Create(rootfs))
        {
            image.SetLength(1 << 20);
        }

        var firstSpec = (await ProbeSpecAsync("share1")) with { Disks = [new DiskSpec(rootfs, ReadOnly: true, "vmps-rootfs")] };
        var first = await LaunchPausedAsync(firstSpec);
        var again = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(firstSpec, CancellationToken.None));
        Assert.Equal("HypervisorAlreadyRunning", again.ErrorId);
        var second = await LaunchPausedAsync((await ProbeSpecAsync("share2")) with { Disks = [new DiskSpec(rootfs, ReadOnly: true, "vmps-rootfs")] });
        var writerSpec = (await ProbeSpecAsync("writer")) with { Disks = [new DiskSpec(rootfs, ReadOnly: false, "vmps-rootfs")] };

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(writerSpec, CancellationToken.None));

        Assert.Equal("HypervisorStartFailed", error.ErrorId);
        Assert.Contains("lock", error.Message);
        Assert.Empty(HostProcesses.Mentioning(writerSpec.VmDirectory));
        Assert.True(ProcessProbe.IsRunning(first.Process));
        Assert.True(ProcessProbe.IsRunning(second.Process));
        await driver.KillAsync(first, CancellationToken.None);
        await driver.KillAsync(second, CancellationToken.None);
        Assert.Empty(HostProcesses.Mentioning(scratch.Path));
    }

    [RequiresProgramFact("qemu-system-x86_64")]
    public async Task QemuFailingToStartReportsItsOwnErrorAndLeavesNothingRunning()
    {
        var vmDirectory = scratch.Combine("broken");
        var spec = Spec(vmDirectory, scratch.Combine("no-such-kernel"), scratch.Combine("no-such-initrd"), "");

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(spec, CancellationToken.None));

        Assert.Equal("HypervisorStartFailed", error.ErrorId);
        Assert.Contains("no-such-kernel", error.Message);
        Assert.Empty(HostProcesses.Mentioning(vmDirectory));
        Assert.False(File.Exists(Path.Combine(vmDirectory, "qmp.sock")));
    }

    [Fact]
    public void CapabilitiesDescribeWhatQemuDoesWithTheMachineAndDevices()
    {
        var microvm = new QemuDriver(new QemuDriverOptions("qemu", Accelerator.Tcg));
        var withVsock = new QemuDriver(new QemuDriverOptions("qemu", Accelerator.Tcg, UseVhostVsock: true));
        var q35 = new QemuDriver(new QemuDriverOptions("qemu", Accelerator.Tcg, QemuMachine.Q35));
        const HypervisorFeatures everyMachine = HypervisorFeatures.VirtioFs | HypervisorFeatures.Qcow2Disks | HypervisorFeatures.DiskResize
            | HypervisorFeatures.Pause | HypervisorFeatures.Snapshot | HypervisorFeatures.PvhKernel | HypervisorFeatures.LiveDiskSnapshot
            | HypervisorFeatures.LazyRestore | HypervisorFeatures.SerialConsole;
        const HypervisorFeatures q35Only = HypervisorFeatures.DiskHotplug | HypervisorFeatures.NicHotplug | HypervisorFeatures.CpuResize
            | HypervisorFeatures.MemoryResize | HypervisorFeatures.MemoryUnplug
            | HypervisorFeatures.Uefi | HypervisorFeatures.Bios | HypervisorFeatures.CdRom;

        Assert.Equal(new HypervisorCapabilities("QEMU (microvm)", everyMachine), microvm.Capabilities);
        Assert.Equal(everyMachine | HypervisorFeatures.Vsock, withVsock.Capabilities.Features);
        Assert.Equal(new HypervisorCapabilities("QEMU (q35)", everyMachine | q35Only), q35.Capabilities);
        Assert.Equal(HypervisorKind.Qemu, withVsock.Kind);
    }

    /// <summary>Launches and pauses at once, so the probe guest cannot power itself off during the test.</summary>
    private async Task<HypervisorInstance> LaunchPausedAsync(VmLaunchSpec spec)
    {
        var instance = await driver.LaunchAsync(spec, CancellationToken.None);
        await using var qmp = await QmpClient.ConnectAsync(instance.ControlSocketPath, CancellationToken.None);
        await qmp.ExecuteAsync("stop", CancellationToken.None);
        return instance;
    }

    private async Task<VmLaunchSpec> ProbeSpecAsync(string name)
    {
        var kernel = RequiresGuestKernelFactAttribute.Kernel;
        var paths = new VmPsPaths(scratch.Combine("state"));
        var initrd = await new InitrdBuilder(paths).BuildAsync(GuestBinary.Locate(), kernel, CancellationToken.None);
        return Spec(scratch.Combine(name), kernel.Path, initrd, KvmBootTest.ProbeKernelArgument);
    }

    private static VmLaunchSpec Spec(string vmDirectory, string kernel, string initrd, string kernelArguments) => new()
    {
        VmName = Path.GetFileName(vmDirectory),
        VmDirectory = vmDirectory,
        KernelPath = kernel,
        InitrdPath = initrd,
        KernelArguments = kernelArguments,
        Cpus = 1,
        MemoryMiB = 256,
        Disks = [],
        ConsoleLogPath = Path.Combine(vmDirectory, "console.log"),
        HypervisorLogPath = Path.Combine(vmDirectory, "qemu.log"),
        VsockCid = 3,
    };
}
