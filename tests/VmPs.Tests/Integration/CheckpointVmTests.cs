using System.Globalization;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Integration;

/// <summary>
/// Checkpoints of a busybox guest booted under QEMU (TCG): a checkpoint of the running VM brings back both its disk
/// (a file changed after it) and its memory (a counting loop, the same boot); one of the stopped VM holds the disk only.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class CheckpointVmTests : IDisposable
{
    private const string Vm = "checkpointed";
    private const string Counter = "i=0; while :; do i=$((i+1)); echo $i > /run/count; sleep 0.1; done";
    private static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };
    private readonly TemporaryVmPsHome home = new();
    private readonly VmManager manager;

    public CheckpointVmTests()
    {
        manager = new VmManager(home.Paths);
    }

    public void Dispose()
    {
        foreach (var vm in manager.GetAllAsync(CancellationToken.None).GetAwaiter().GetResult())
        {
            manager.RemoveAsync(vm.Name, force: true, CancellationToken.None).GetAwaiter().GetResult();
        }

        home.Dispose();
    }

    [RequiresVmBootFact]
    public async Task Restoring_a_checkpoint_brings_back_the_file_and_the_memory_it_had()
    {
        await manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", MemoryMiB = 512, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        await manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var bootId = await RunAsync("cat /proc/sys/kernel/random/boot_id");
        await RunAsync("mkdir -p /srv && echo before > /srv/note && sync");
        await RunAsync($"({Counter}) >/dev/null 2>&1 &");
        await WaitForCountAsync();

        var checkpoint = await manager.CheckpointAsync(Vm, "cp1", CancellationToken.None);
        Assert.True(checkpoint.HasMemory);
        Assert.Equal(Vm, checkpoint.VmName);
        Assert.True(checkpoint.SizeBytes > 0);
        Assert.Equal(VmState.Running, (await manager.GetAsync(Vm, CancellationToken.None)).State);
        var atCheckpoint = await CountAsync();
        await RunAsync("echo after > /srv/note && sync");
        var duplicate = await Assert.ThrowsAsync<VmPsException>(() => manager.CheckpointAsync(Vm, "CP1".ToLowerInvariant(), CancellationToken.None));
        Assert.Equal(VmPsErrorIds.CheckpointNameInUse, duplicate.ErrorId);

        // The running VM is turned off, gets the checkpoint's disk and memory, and is Saved until Start-Vm.
        Assert.Equal(VmState.Saved, (await manager.RestoreCheckpointAsync(Vm, "cp1", CancellationToken.None)).State);
        await manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal("before", await RunAsync("cat /srv/note"));
        Assert.Equal(bootId, await RunAsync("cat /proc/sys/kernel/random/boot_id"));
        var restored = await CountAsync();
        Assert.True(restored >= atCheckpoint - 10 && restored > 0, $"the count is {restored}, the checkpoint's about {atCheckpoint}");

        // A checkpoint of the stopped VM holds the disk only; restoring it leaves the VM Stopped with that disk.
        await RunAsync("echo stopped > /srv/note && sync");
        await manager.StopAsync(Vm, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.False((await manager.CheckpointAsync(Vm, "cp2", CancellationToken.None)).HasMemory);
        Assert.Equal(["cp1", "cp2"], (await manager.GetCheckpointsAsync(Vm, CancellationToken.None)).Select(c => c.Name));
        Assert.Equal(VmState.Saved, (await manager.RestoreCheckpointAsync(Vm, "cp1", CancellationToken.None)).State);
        Assert.Equal(VmState.Stopped, (await manager.RestoreCheckpointAsync(Vm, "cp2", CancellationToken.None)).State);
        await manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal("stopped", await RunAsync("cat /srv/note"));
        Assert.NotEqual(bootId, await RunAsync("cat /proc/sys/kernel/random/boot_id"));

        await manager.RemoveCheckpointAsync(Vm, "cp2", CancellationToken.None);
        Assert.Equal(["cp1"], (await manager.GetCheckpointsAsync(Vm, CancellationToken.None)).Select(c => c.Name));
        var missing = await Assert.ThrowsAsync<VmPsException>(() => manager.RemoveCheckpointAsync(Vm, "cp2", CancellationToken.None));
        Assert.Equal(VmPsErrorIds.CheckpointNotFound, missing.ErrorId);
        var directory = (await manager.GetAsync(Vm, CancellationToken.None)).Directory;
        await manager.RemoveAsync(Vm, force: true, CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(directory, "checkpoints")));
    }

    /// <summary>Waits (bounded) until the counting loop has published a count.</summary>
    private async Task WaitForCountAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (await RunAsync("cat /run/count 2>/dev/null || echo 0") == "0")
        {
            Assert.True(DateTime.UtcNow < deadline, "the guest's counting loop never published a count");
            await Task.Delay(200);
        }
    }

    private async Task<long> CountAsync() => long.Parse(await RunAsync("cat /run/count"), CultureInfo.InvariantCulture);

    private async Task<string> RunAsync(string script)
    {
        var result = await manager.ExecAsync(Vm, new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
        Assert.True(result.ExitCode == 0, $"'{script}' exited {result.ExitCode}: {result.Stderr}");
        return result.Stdout.Trim();
    }
}
