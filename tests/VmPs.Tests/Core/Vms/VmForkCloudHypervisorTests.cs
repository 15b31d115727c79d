using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// New-Vm -FromCheckpoint of a Cloud Hypervisor VM's memory checkpoint, through VmManager with the fake CH as the
/// hypervisor: the source VM is booted by the fake (no agent waited for: the fake runs no guest) and checkpointed with
/// vm.snapshot. Verified here: forks are made (Saved) with the checkpoint's state files as hard links, nothing copied;
/// a truncated checkpoint makes no fork and leaves nothing, one changed in place makes a fork that Start-Vm refuses
/// (CH started meanwhile is stopped, nothing restored); removing the source keeps the files its forks use. Restoring
/// a fork as itself is the driver's (CloudHypervisorForkTests); the agent's identity steps after it are VmBoot's, run
/// for QEMU forks in ForkVmTests.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmForkCloudHypervisorTests : IAsyncLifetime
{
    private readonly FakeCloudHypervisorVmManager vms = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => vms.DisposeAsync().AsTask();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task Forks_of_a_memory_checkpoint_share_its_state_files_which_outlive_the_source()
    {
        var state = await CheckpointedSourceAsync();
        var memory = Path.Combine(state, "memory-ranges");

        var forks = new List<VmInfo>();
        foreach (var name in new[] { "fork1", "fork2" })
        {
            forks.Add(await vms.Manager.ForkAsync("origin", "cp1", name, CancellationToken.None));
        }

        Assert.All(forks, fork => Assert.Equal((VmState.Saved, HypervisorKind.CloudHypervisor), (fork.State, fork.Hypervisor)));
        Assert.Equal(3, forks.Select(fork => fork.Id).Append((await vms.Manager.GetAsync("origin", CancellationToken.None)).Id).Distinct().Count());
        var links = forks.Select(fork => Path.Combine(vms.Home.Paths.VmsDirectory, fork.Id.ToString("N"), "saved", "memory-ranges")).ToList();
        Assert.All(links, link => Assert.Equal(UnixFileType.Inode(memory), UnixFileType.Inode(link)));
        Assert.Equal(3u, VmPs.Protocol.Files.UnixFileSystem.GetStatus(memory).Links);

        await vms.Manager.RemoveAsync("origin", force: true, CancellationToken.None);

        Assert.False(File.Exists(memory));
        Assert.All(links, link => Assert.Equal(2u, VmPs.Protocol.Files.UnixFileSystem.GetStatus(link).Links));
        Assert.All(forks, fork => Assert.Equal(VmState.Saved, vms.Manager.GetAsync(fork.Name, CancellationToken.None).Result.State));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task A_damaged_checkpoint_makes_no_fork_and_leaves_nothing()
    {
        var state = await CheckpointedSourceAsync();
        var vmDirectories = Directory.GetDirectories(vms.Home.Paths.VmsDirectory);
        await using (var memory = new FileStream(Path.Combine(state, "memory-ranges"), FileMode.Open, FileAccess.Write))
        {
            memory.SetLength(memory.Length - 4096);
        }

        var error = await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.ForkAsync("origin", "cp1", "fork1", CancellationToken.None));

        Assert.Equal((VmPsErrorIds.CheckpointNotForkable, VmPsErrorKind.InvalidData, "cp1"), (error.ErrorId, error.Kind, error.Target));
        Assert.Contains("'memory-ranges'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Remove-VmCheckpoint", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Null(await vms.Manager.FindAsync("fork1", CancellationToken.None));
        Assert.Equal(vmDirectories, Directory.GetDirectories(vms.Home.Paths.VmsDirectory));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task A_checkpoint_changed_in_place_makes_a_fork_whose_start_refuses_it_and_keeps_it_saved()
    {
        var state = await CheckpointedSourceAsync();
        await using (var memory = new FileStream(Path.Combine(state, "memory-ranges"), FileMode.Open, FileAccess.ReadWrite))
        {
            var first = memory.ReadByte();
            memory.Position = 0;
            memory.WriteByte((byte)(first ^ 1));
        }

        var fork = await vms.Manager.ForkAsync("origin", "cp1", "fork1", CancellationToken.None);
        Assert.Equal(VmState.Saved, fork.State);
        var launches = vms.Launcher.Launches;

        var error = await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.StartAsync("fork1", new VmStartOptions(), progress: null, CancellationToken.None));

        Assert.Equal((VmPsErrorIds.SavedStateInvalid, "fork1"), (error.ErrorId, error.Target));
        Assert.Contains("'memory-ranges' does not match its SHA-256 digest", error.Message, StringComparison.Ordinal);
        Assert.Equal(launches + 1, vms.Launcher.Launches);
        Assert.DoesNotContain(vms.Launcher.Vmm.Requests, request => request.Endpoint == "vm.restore");
        Assert.False(VmPs.Core.Processes.ProcessProbe.IsRunning(vms.Launcher.Vmm.Process));
        Assert.Equal(VmState.Saved, (await vms.Manager.GetAsync("fork1", CancellationToken.None)).State);
    }

    /// <summary>The VM origin, booted by the fake CH and checkpointed as cp1 while it runs; the checkpoint's state directory.</summary>
    private async Task<string> CheckpointedSourceAsync()
    {
        var origin = await vms.Manager.CreateAsync(new VmCreateOptions { Name = "origin", Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.CloudHypervisor }, CancellationToken.None);
        await vms.Manager.StartAsync("origin", new VmStartOptions { WaitForAgent = false }, progress: null, CancellationToken.None);
        var checkpoint = await vms.Manager.CheckpointAsync("origin", "cp1", CancellationToken.None);
        Assert.True(checkpoint.HasMemory);
        return Path.Combine(vms.Home.Paths.VmsDirectory, origin.Id.ToString("N"), "checkpoints", "cp1", "state");
    }
}
