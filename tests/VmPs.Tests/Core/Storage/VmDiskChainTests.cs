using System.Globalization;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Protocol.Files;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

/// <summary>
/// Copy-on-write checkpoints of stopped VMs as qcow2 chains (this file system has no reflink), with real qemu-img:
/// each checkpoint freezes the VM's file where it lies and the VM writes a new file over it; restores and removals
/// in the middle of a chain keep every checkpoint's data (written and read back with qemu-io) and delete only the
/// files nothing reads; a Checkpoint-Vm or Restore-VmCheckpoint killed at each step is repaired by the next call.
/// </summary>
public sealed class VmDiskChainTests : IDisposable
{
    // Far from the ext4 metadata of a 1 GiB overlay; the VMs are never booted.
    private const string Offset = "700M";

    private readonly TemporaryVmPsHome home = new();

    public static TheoryData<string, string> CrashSteps => new()
    {
        { "checkpoint", VmCheckpoints.CrashAfterNewFile },
        { "checkpoint", VmCheckpoints.CrashAfterNewFileRecorded },
        { "restore", VmCheckpoints.CrashAfterRestoreRecorded },
    };

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "qemu-img")]
    public async Task ACheckpointFreezesTheDiskInPlaceUnderANewQcow2FileThatForksAndTheVmKeep()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        var overlay = Path.Combine(vm.Directory, "overlay.ext4");
        var used = DirectoryAllocatedBytes(home.Paths.Root);

        var checkpoint = await manager.CheckpointAsync("vm", "cp1", CancellationToken.None);

        Assert.Equal(CopyMethod.BackingFile, checkpoint.DiskCopy);
        var after = await manager.GetAsync("vm", CancellationToken.None);
        Assert.Equal(DiskImageFormat.Qcow2, after.DiskFormat);
        Assert.InRange(after.DiskAllocatedBytes, 1, 1L << 20);
        Assert.InRange(DirectoryAllocatedBytes(home.Paths.Root) - used, 0, 2L << 20);
        Assert.Equal(0b100_000_000, UnixFileSystem.GetStatus(overlay).Mode);
        var top = await DiskFileAsync("vm");
        Assert.StartsWith("disk-", top, StringComparison.Ordinal);
        Assert.Equal(overlay, (await QemuImage.InfoAsync(Path.Combine(vm.Directory, top), DiskImageFormat.Qcow2, CancellationToken.None)).BackingFile);

        var fork = await manager.ForkAsync("vm", "cp1", "fork", CancellationToken.None);
        Assert.Equal(DiskImageFormat.Qcow2, fork.DiskFormat);
        Assert.InRange(fork.DiskAllocatedBytes, 1, 1L << 20);
        var forkTop = Path.Combine(fork.Directory, await DiskFileAsync("fork"));
        Assert.Equal(1L << 30, (await QemuImage.InfoAsync(forkTop, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
        Assert.Equal(UnixFileSystem.GetStatus(overlay).Inode, UnixFileSystem.GetStatus(Path.Combine(fork.Directory, "overlay.ext4")).Inode);

        // The VM's disk and the fork still read the frozen file: removing the checkpoint keeps it for both.
        await manager.RemoveCheckpointAsync("vm", "cp1", CancellationToken.None);
        Assert.True(File.Exists(overlay));
        await manager.RemoveAsync("vm", force: true, CancellationToken.None);
        await AssertChecksAsync(forkTop);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "qemu-img", "qemu-io")]
    public async Task RestoringAndRemovingCheckpointsInTheMiddleOfAChainKeepEachOnesDataAndDeleteOnlyWhatNothingReads()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        await WriteAsync("vm", 0x11);
        await manager.CheckpointAsync("vm", "a", CancellationToken.None);
        var afterA = await DiskFileAsync("vm");
        await WriteAsync("vm", 0x22);
        await manager.CheckpointAsync("vm", "b", CancellationToken.None);
        var afterB = await DiskFileAsync("vm");
        await WriteAsync("vm", 0x33);
        await manager.CheckpointAsync("vm", "c", CancellationToken.None);
        await WriteAsync("vm", 0x44);
        await AssertReadsAsync("vm", 0x44);

        // Back to the middle one: the newest writes are gone with the file that held them; c still has its data.
        Assert.Equal(VmState.Stopped, (await manager.RestoreCheckpointAsync("vm", "b", CancellationToken.None)).State);
        await AssertReadsAsync("vm", 0x22);
        Assert.Equal(4, DiskFiles(vm.Directory).Count);
        await WriteAsync("vm", 0x55);

        // b's frozen file is read by the VM's disk: removing b keeps it; removing c frees c's.
        await manager.RemoveCheckpointAsync("vm", "b", CancellationToken.None);
        await AssertReadsAsync("vm", 0x55);
        await manager.RemoveCheckpointAsync("vm", "c", CancellationToken.None);
        Assert.Equal(["overlay.ext4", afterA, await DiskFileAsync("vm")], DiskFiles(vm.Directory).OrderBy(name => name == "overlay.ext4" ? 0 : name == afterA ? 1 : 2));
        Assert.DoesNotContain(afterB, DiskFiles(vm.Directory));

        Assert.Equal(VmState.Stopped, (await manager.RestoreCheckpointAsync("vm", "a", CancellationToken.None)).State);
        await AssertReadsAsync("vm", 0x11);
        Assert.Equal(["overlay.ext4", await DiskFileAsync("vm")], DiskFiles(vm.Directory).OrderBy(name => name == "overlay.ext4" ? 0 : 1));
        await AssertChecksAsync(Path.Combine(vm.Directory, await DiskFileAsync("vm")));
    }

    [RequiresProgramTheory("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "qemu-img", "qemu-io")]
    [MemberData(nameof(CrashSteps))]
    public async Task ACheckpointOrRestoreKilledAtAStepIsRepairedByTheNextCall(string command, string step)
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        await WriteAsync("vm", 0x11);
        await manager.CheckpointAsync("vm", "a", CancellationToken.None);
        await WriteAsync("vm", 0x22);

        var (exitCode, output) = await VmCommandChild.RunAsync(home.Paths, null, command == "checkpoint" ? "checkpoint vm b" : "restore vm a", step);
        Assert.True(exitCode == 137, $"{command} was not killed at '{step}' (exit code {exitCode}): {output}");

        // Whatever the step, the VM reads one consistent disk: the kill came before the restore was recorded, or after.
        await AssertReadsAsync("vm", step == VmCheckpoints.CrashAfterRestoreRecorded ? 0x11 : 0x22);
        Assert.Equal(["a"], (await manager.GetCheckpointsAsync("vm", CancellationToken.None)).Select(c => c.Name));

        // The next call deletes what the killed one left and does the job; then only the files in use remain.
        var next = VmTestHost.Manager(home.Paths);
        await next.CheckpointAsync("vm", "b", CancellationToken.None);
        await next.RemoveCheckpointAsync("vm", "a", CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(vm.Directory, "checkpoints", "b.partial")));
        Assert.Equal(await ChainAsync(await DiskPathAsync("vm")), DiskFiles(vm.Directory).Order());
        await AssertReadsAsync("vm", step == VmCheckpoints.CrashAfterRestoreRecorded ? 0x11 : 0x22);
        await AssertChecksAsync(await DiskPathAsync("vm"));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64", "qemu-img")]
    public async Task ACheckpointWaitingForTheDiskLockSeesTheVmStartedMeanwhileAndChangesNothing()
    {
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "vm", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        var store = new VmStore(new StateDatabase(home.Paths.StateDatabase));
        Task checkpoint;
        using (await FileLock.AcquireAsync(new VmFiles(vm.Directory).DiskLock, FileLock.DefaultTimeout, CancellationToken.None))
        {
            // As Start-Vm does: the claim is made while the disk lock is held.
            checkpoint = manager.CheckpointAsync("vm", "cp1", CancellationToken.None);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            await store.UpdateAsync(vm.Id, current => current with { State = VmState.Starting }, CancellationToken.None);
        }

        var error = await Assert.ThrowsAsync<VmPsException>(() => checkpoint);
        Assert.Equal(VmPsErrorIds.VmNotRunning, error.ErrorId);
        Assert.Equal(["overlay.ext4"], DiskFiles(vm.Directory));
        Assert.Null((await store.FindByNameAsync("vm", CancellationToken.None))!.DiskFile);
        await store.UpdateAsync(vm.Id, current => current with { State = VmState.Stopped }, CancellationToken.None);
    }

    private async Task<string> DiskFileAsync(string name) =>
        (await new VmStore(new StateDatabase(home.Paths.StateDatabase)).FindByNameAsync(name, CancellationToken.None))!.DiskFileName;

    private async Task<string> DiskPathAsync(string name)
    {
        var vm = await VmTestHost.Manager(home.Paths).GetAsync(name, CancellationToken.None);
        return Path.Combine(vm.Directory, await DiskFileAsync(name));
    }

    private static List<string> DiskFiles(string directory) =>
        Directory.EnumerateFiles(directory).Select(path => Path.GetFileName(path)!).Where(name => name.StartsWith("disk-", StringComparison.Ordinal) || name.StartsWith("overlay.", StringComparison.Ordinal)).ToList();

    private async Task WriteAsync(string vm, int pattern) =>
        await QemuIoAsync(vm, $"write -P 0x{pattern:x2} {Offset} 64k");

    private async Task AssertReadsAsync(string vm, int pattern) =>
        await QemuIoAsync(vm, $"read -P 0x{pattern:x2} {Offset} 64k");

    /// <summary>qemu-io on the VM's disk through its chain; a read with -P fails on any other byte.</summary>
    private async Task QemuIoAsync(string vm, string command)
    {
        var path = await DiskPathAsync(vm);
        var format = path.EndsWith(".qcow2", StringComparison.Ordinal) ? "qcow2" : "raw";
        var result = await ExternalTool.RunAsync("qemu-io", ["-f", format, "-c", command, path], CancellationToken.None);
        Assert.True(
            result.ExitCode == 0 && !result.StandardOutput.Contains("Pattern verification failed", StringComparison.Ordinal) && !result.StandardOutput.Contains("error", StringComparison.OrdinalIgnoreCase),
            $"qemu-io '{command}' on {path}: {result.StandardOutput}{result.StandardError}");
    }

    /// <summary>The file names of <paramref name="qcow2"/>'s backing chain as qemu-img follows it, sorted.</summary>
    private static async Task<IEnumerable<string>> ChainAsync(string qcow2)
    {
        var info = await ExternalTool.RunCheckedAsync("qemu-img", ["info", "-U", "--backing-chain", "--output=json", qcow2], CancellationToken.None);
        return System.Text.Json.JsonDocument.Parse(info.StandardOutput).RootElement.EnumerateArray()
            .Select(image => Path.GetFileName(image.GetProperty("filename").GetString()!))
            .Order()
            .ToList();
    }

    private static async Task AssertChecksAsync(string qcow2)
    {
        var check = await ExternalTool.RunAsync("qemu-img", ["check", "-f", "qcow2", qcow2], CancellationToken.None);
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
    }

    /// <summary>The blocks the files under <paramref name="directory"/> take, each hard-linked file once.</summary>
    private static long DirectoryAllocatedBytes(string directory) =>
        long.Parse(ExternalTool.RunCheckedAsync("du", ["-s", "-B1", directory], CancellationToken.None).GetAwaiter().GetResult().StandardOutput.Split('\t')[0], CultureInfo.InvariantCulture);
}
