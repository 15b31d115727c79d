using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>Lifecycle rules that need no boot: rows are set up as a hypervisor would leave them.</summary>
public sealed class VmLifecycleTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task CreatedVmIsStoppedWithItsDiskAndAllocations()
    {
        var manager = VmTestHost.Manager(home.Paths);

        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", Cpus = 2, MemoryMiB = 256, DiskSizeGiB = 1 }, CancellationToken.None);

        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Equal("busybox", vm.Image);
        Assert.Equal(HypervisorKind.Qemu, vm.Hypervisor);
        Assert.Equal(3u, vm.VsockCid);
        Assert.StartsWith("02:76:6d:", vm.MacAddress);
        Assert.Equal(1L << 30, new FileInfo(Path.Combine(vm.Directory, "overlay.ext4")).Length);
        Assert.Equal(vm, await VmTestHost.Manager(home.Paths).GetAsync("WEB", CancellationToken.None));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task AMachineTypeChoosesQemuIsKeptAndIsRefusedForCloudHypervisor()
    {
        var manager = VmTestHost.Manager(home.Paths);

        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "pc", Image = "busybox", MachineType = QemuMachine.Q35 }, CancellationToken.None);
        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(
            new VmCreateOptions { Name = "ch", Image = "busybox", Hypervisor = HypervisorKind.CloudHypervisor, MachineType = QemuMachine.Q35 },
            CancellationToken.None));

        Assert.Equal((HypervisorKind.Qemu, QemuMachine.Q35), (vm.Hypervisor, vm.MachineType));
        Assert.Equal(QemuMachine.Q35, (await VmTestHost.Manager(home.Paths).GetAsync("pc", CancellationToken.None)).MachineType);
        Assert.Equal(VmPsErrorIds.MachineTypeNotSupported, error.ErrorId);
        Assert.Null(await manager.FindAsync("ch", CancellationToken.None));
    }

    [Fact]
    public async Task UnknownVmIsNotFound()
    {
        var manager = VmTestHost.Manager(home.Paths);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.GetAsync("ghost", CancellationToken.None));

        Assert.Equal("VmNotFound", error.ErrorId);
        Assert.Null(await manager.FindAsync("ghost", CancellationToken.None));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task ExecOnAStoppedVmIsRefusedAndStopIsANoOp()
    {
        var manager = VmTestHost.Manager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            manager.ExecAsync("vm", new VmExecOptions { Command = ["true"] }, CancellationToken.None));
        var stopped = await manager.StopAsync("vm", new VmStopOptions(), CancellationToken.None);

        Assert.Equal("VmNotRunning", error.ErrorId);
        Assert.Equal(VmState.Stopped, stopped.State);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task RunningVmCannotBeStartedAgainNorRemovedWithoutForce()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        // This test process stands in for a live hypervisor.
        await RecordRunningAsync(vm, VmTestHost.CurrentProcess());

        var start = await Assert.ThrowsAsync<VmPsException>(() => manager.StartAsync("vm", new VmStartOptions(), null, CancellationToken.None));
        var remove = await Assert.ThrowsAsync<VmPsException>(() => manager.RemoveAsync("vm", force: false, CancellationToken.None));

        Assert.Equal("VmAlreadyRunning", start.ErrorId);
        Assert.Equal("VmIsRunning", remove.ErrorId);
        Assert.Equal(VmState.Running, (await manager.GetAsync("vm", CancellationToken.None)).State);
        await Store().UpdateAsync(vm.Id, current => current.Stopped(null, null), CancellationToken.None);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "e2fsck", "resize2fs", "dumpe2fs")]
    public async Task ResizeDiskGrowsAStoppedVmsDiskAndFilesystemOnlyUpward()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        var overlay = Path.Combine(vm.Directory, "overlay.ext4");
        Assert.Equal(1, vm.DiskSizeGiB);
        Assert.InRange(vm.DiskAllocatedBytes, 1, 64L << 20);

        var grown = await manager.ResizeDiskAsync("vm", 3, CancellationToken.None);

        Assert.Equal(3, grown.DiskSizeGiB);
        Assert.Equal(3L << 30, new FileInfo(overlay).Length);
        var superblock = (await ExternalTool.RunCheckedAsync("dumpe2fs", ["-h", overlay], CancellationToken.None)).StandardOutput;
        var blockCount = long.Parse(superblock.Split('\n').Single(line => line.StartsWith("Block count:", StringComparison.Ordinal))["Block count:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var blockSize = long.Parse(superblock.Split('\n').Single(line => line.StartsWith("Block size:", StringComparison.Ordinal))["Block size:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(3L << 30, blockCount * blockSize);
        Assert.InRange(grown.DiskAllocatedBytes, 1, 128L << 20);

        var shrink = await Assert.ThrowsAsync<VmPsException>(() => manager.ResizeDiskAsync("vm", 2, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.VmDiskShrinkNotSupported, shrink.ErrorId);
        var outOfRange = await Assert.ThrowsAsync<VmPsException>(() => manager.ResizeDiskAsync("vm", 0, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.DiskSizeOutOfRange, outOfRange.ErrorId);
        await RecordRunningAsync(vm, VmTestHost.CurrentProcess());
        var running = await Assert.ThrowsAsync<VmPsException>(() => manager.ResizeDiskAsync("vm", 4, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.VmDiskResizeNeedsStoppedVm, running.ErrorId);
        Assert.Contains("stop the VM first", running.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3L << 30, new FileInfo(overlay).Length);
        await Store().UpdateAsync(vm.Id, current => current.Stopped(null, null), CancellationToken.None);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "qemu-img")]
    public async Task AQcow2DiskIsMadeAndGrownWithQemuImg()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1, DiskFormat = DiskImageFormat.Qcow2 }, CancellationToken.None);
        var disk = Path.Combine(vm.Directory, "overlay.qcow2");

        Assert.Equal(DiskImageFormat.Qcow2, vm.DiskFormat);
        Assert.False(File.Exists(Path.Combine(vm.Directory, "overlay.ext4")));
        Assert.Equal(1L << 30, (await QemuImage.InfoAsync(disk, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
        Assert.InRange(vm.DiskAllocatedBytes, 1, 64L << 20);
        var grown = await manager.ResizeDiskAsync("vm", 2, CancellationToken.None);
        Assert.Equal((2, DiskImageFormat.Qcow2), (grown.DiskSizeGiB, grown.DiskFormat));
        Assert.Equal(2L << 30, (await QemuImage.InfoAsync(disk, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
        Assert.Equal(DiskImageFormat.Qcow2, (await VmTestHost.Manager(home.Paths).GetAsync("vm", CancellationToken.None)).DiskFormat);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task DeadHypervisorWithoutPoweroffIsCrashedWithTheConsoleTail()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        await RecordRunningAsync(vm, await VmTestHost.DeadProcessAsync());
        var lines = Enumerable.Range(1, 30).Select(i => $"console line {i}").Prepend("[vmps] boot version=1");
        File.WriteAllText(Path.Combine(vm.Directory, "console.log"), string.Join('\n', lines) + "\n");

        var seen = await VmTestHost.Manager(home.Paths).GetAsync("vm", CancellationToken.None);

        Assert.Equal(VmState.Crashed, seen.State);
        Assert.Null(seen.ProcessId);
        Assert.Contains("exited without the guest powering off", seen.StatusDetail);
        Assert.Contains("console line 30", seen.StatusDetail);
        Assert.Contains("console line 11", seen.StatusDetail);
        Assert.DoesNotContain("console line 10\n", seen.StatusDetail + "\n");
        Assert.Equal(VmState.Crashed, (await manager.GetAsync("vm", CancellationToken.None)).State);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task DeadHypervisorAfterPoweroffIsStoppedWithTheExitCode()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        await RecordRunningAsync(vm, await VmTestHost.DeadProcessAsync());
        File.WriteAllText(
            Path.Combine(vm.Directory, "console.log"),
            "[vmps] boot version=1\n[vmps] poweroff reason=entrypoint-exited exit-code=7\nreboot: Power down\n");

        var all = await VmTestHost.Manager(home.Paths).GetAllAsync(CancellationToken.None);

        var seen = Assert.Single(all);
        Assert.Equal(VmState.Stopped, seen.State);
        Assert.Equal(7, seen.ExitCode);
        Assert.NotNull(seen.StoppedAt);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task StartAbandonedByADeadSessionIsStopped()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        var deadSession = await VmTestHost.DeadProcessAsync();
        await Store().UpdateAsync(vm.Id, current => current.Claimed(deadSession), CancellationToken.None);

        var seen = await manager.GetAsync("vm", CancellationToken.None);

        Assert.Equal(VmState.Stopped, seen.State);
        Assert.Contains("exited before the VM booted", seen.StatusDetail);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task StartFailingBeforeLaunchRestoresTheStateAndLeavesNoProcess()
    {
        var kernelCopy = Path.Combine(home.Paths.Root, "vmlinuz-copy");
        File.Copy(VmPs.Core.Boot.KernelLocator.FindDefault()!.Path, kernelCopy);
        var manager = VmTestHost.Manager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", KernelPath = kernelCopy }, CancellationToken.None);
        File.Delete(kernelCopy);

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.StartAsync("vm", new VmStartOptions(), null, CancellationToken.None));

        Assert.Equal("KernelNotFound", error.ErrorId);
        var vm = await manager.GetAsync("vm", CancellationToken.None);
        Assert.Equal(VmState.Stopped, vm.State);
        Assert.Null(vm.ProcessId);
        Assert.Null((await Store().FindByIdAsync(vm.Id, CancellationToken.None))!.Session);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "sleep")]
    public async Task ForcedRemoveOfARunningVmKillsItsProcessAndLeavesNothing()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        // A detached process started the way drivers start hypervisors, without a control socket.
        var process = DetachedProcess.Start("sleep", ["600"], Path.Combine(vm.Directory, "hypervisor.log"), vm.Directory);
        await RecordRunningAsync(vm, process);

        await manager.RemoveAsync("vm", force: true, CancellationToken.None);

        Assert.False(ProcessProbe.IsRunning(process));
        Assert.Null(await manager.FindAsync("vm", CancellationToken.None));
        Assert.False(Directory.Exists(vm.Directory));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task RemoveDeletesTheRowAndTheDirectory()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);

        await manager.RemoveAsync("vm", force: false, CancellationToken.None);

        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
        Assert.False(Directory.Exists(vm.Directory));
        var second = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox" }, CancellationToken.None);
        Assert.Equal(3u, second.VsockCid);
    }

    public void Dispose() => home.Dispose();

    private VmStore Store() => new(new StateDatabase(home.Paths.StateDatabase));

    private Task RecordRunningAsync(VmInfo vm, ProcessIdentity hypervisor) =>
        Store().UpdateAsync(
            vm.Id,
            current => current with
            {
                State = VmState.Running,
                StartedAt = DateTimeOffset.UtcNow,
                Instance = new HypervisorInstance(
                    HypervisorKind.Qemu,
                    hypervisor,
                    Path.Combine(vm.Directory, "qmp.sock"),
                    AgentEndpoint.VirtioSerial(Path.Combine(vm.Directory, "agent.sock"))),
            },
            CancellationToken.None);
}
