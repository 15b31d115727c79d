using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// Checkpoints of a busybox guest booted under QEMU (TCG): a checkpoint of the running VM brings back both its disk
/// (a file changed after it) and its memory (a counting loop, the same boot); one of the stopped VM holds the disk only.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class CheckpointVmTests() : OwnHomeVmTests(Vm)
{
    private const string Vm = "checkpointed";

    [RequiresVmBootFact]
    public async Task Restoring_a_checkpoint_brings_back_the_file_and_the_memory_it_had()
    {
        await Manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", MemoryMiB = 512, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var bootId = await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id");
        await Guest.RunAsync("mkdir -p /srv && echo before > /srv/note && sync");
        await Guest.StartCountingAsync();

        var checkpoint = await Manager.CheckpointAsync(Vm, "cp1", CancellationToken.None);
        Assert.True(checkpoint.HasMemory);
        Assert.Equal(Vm, checkpoint.VmName);
        Assert.True(checkpoint.SizeBytes > 0);
        var afterCheckpoint = await Manager.GetAsync(Vm, CancellationToken.None);
        Assert.Equal(VmState.Running, afterCheckpoint.State);
        if (checkpoint.DiskCopy == CopyMethod.BackingFile)
        {
            // No reflink here: QEMU moved onto a new qcow2 file over the frozen disk while the VM stood still.
            Assert.Equal(DiskImageFormat.Qcow2, afterCheckpoint.DiskFormat);
            Assert.InRange(afterCheckpoint.DiskAllocatedBytes, 1, 4L << 20);
        }

        var atCheckpoint = await Guest.CountAsync();
        await Guest.RunAsync("echo after > /srv/note && sync");
        var duplicate = await Assert.ThrowsAsync<VmPsException>(() => Manager.CheckpointAsync(Vm, "CP1".ToLowerInvariant(), CancellationToken.None));
        Assert.Equal(VmPsErrorIds.CheckpointNameInUse, duplicate.ErrorId);

        // A session killed after recording the VM's next file but before QEMU moved onto it leaves QEMU on the old
        // one: the guest's writes still land there, the next checkpoint moves QEMU first, and nothing is lost.
        await RecordNextFileAsQemuWouldNotKnowAsync();
        await Guest.RunAsync("echo during > /srv/note2 && sync");
        Assert.Equal(CopyMethod.BackingFile, (await Manager.CheckpointAsync(Vm, "cp2", CancellationToken.None)).DiskCopy);
        await Guest.RunAsync("echo late > /srv/note && rm /srv/note2 && sync");

        // Restoring the middle of the chain drops the newest file; then back to the first checkpoint, with its memory.
        Assert.Equal(VmState.Saved, (await Manager.RestoreCheckpointAsync(Vm, "cp2", CancellationToken.None)).State);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal("after during", await Guest.RunAsync("echo $(cat /srv/note /srv/note2)"));
        Assert.Equal(VmState.Saved, (await Manager.RestoreCheckpointAsync(Vm, "cp1", CancellationToken.None)).State);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal("before", await Guest.RunAsync("cat /srv/note"));
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        var restored = await Guest.CountAsync();
        Assert.True(restored >= atCheckpoint - 10 && restored > 0, $"the count is {restored}, the checkpoint's about {atCheckpoint}");
        await Manager.RemoveCheckpointAsync(Vm, "cp2", CancellationToken.None);

        // A checkpoint of the stopped VM holds the disk only; restoring it leaves the VM Stopped with that disk.
        await Guest.RunAsync("echo stopped > /srv/note && sync");
        await Manager.StopAsync(Vm, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.False((await Manager.CheckpointAsync(Vm, "cp2", CancellationToken.None)).HasMemory);
        Assert.Equal(["cp1", "cp2"], (await Manager.GetCheckpointsAsync(Vm, CancellationToken.None)).Select(c => c.Name));
        Assert.Equal(VmState.Saved, (await Manager.RestoreCheckpointAsync(Vm, "cp1", CancellationToken.None)).State);
        Assert.Equal(VmState.Stopped, (await Manager.RestoreCheckpointAsync(Vm, "cp2", CancellationToken.None)).State);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal("stopped", await Guest.RunAsync("cat /srv/note"));
        Assert.NotEqual(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));

        await Manager.RemoveCheckpointAsync(Vm, "cp2", CancellationToken.None);
        Assert.Equal(["cp1"], (await Manager.GetCheckpointsAsync(Vm, CancellationToken.None)).Select(c => c.Name));
        var missing = await Assert.ThrowsAsync<VmPsException>(() => Manager.RemoveCheckpointAsync(Vm, "cp2", CancellationToken.None));
        Assert.Equal(VmPsErrorIds.CheckpointNotFound, missing.ErrorId);
        var directory = (await Manager.GetAsync(Vm, CancellationToken.None)).Directory;
        await Manager.RemoveAsync(Vm, force: true, CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(directory, "checkpoints")));
    }

    /// <summary>What Checkpoint-Vm killed at CrashAfterNewFileRecorded leaves: a new file over the VM's, recorded, QEMU not told.</summary>
    private async Task RecordNextFileAsQemuWouldNotKnowAsync()
    {
        var store = new VmStore(new StateDatabase(Home.Paths.StateDatabase));
        var vm = (await store.FindByNameAsync(Vm, CancellationToken.None))!;
        var files = new VmFiles((await Manager.GetAsync(Vm, CancellationToken.None)).Directory);
        var next = VmDiskChain.NewName(DiskImageFormat.Qcow2);
        VmDiskChain.NewTop(files, next, vm.DiskFileName, vm.DiskSizeBytes);
        await store.SetDiskFileAsync(vm.Id, next, DiskImageFormat.Qcow2, CancellationToken.None);
    }
}
