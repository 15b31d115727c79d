using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>The driver's pause, resume, save (vm.snapshot to a file:// directory) and restore (vm.restore, vm.resume) against the fake CH.</summary>
public sealed class CloudHypervisorSnapshotTests : IAsyncLifetime
{
    private readonly ChTestVm vm = new();
    private readonly FakeCloudHypervisorLauncher launcher = new(new FakeCloudHypervisorOptions
    {
        GuestServices = new Dictionary<uint, FakeGuestService> { [AgentEndpoint.DefaultPort] = FakeGuestServices.Echo },
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await launcher.DisposeAsync();
        vm.Dispose();
    }

    [Fact]
    public async Task PauseAndResumeGoThroughTheApiAndResumingARunningVmIsCloudHypervisorsError()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        await driver.PauseAsync(instance, CancellationToken.None);
        Assert.Equal("Paused", launcher.Vmm.VmState);
        await driver.ResumeAsync(instance, CancellationToken.None);
        Assert.Equal("Running", launcher.Vmm.VmState);

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => driver.ResumeAsync(instance, CancellationToken.None));
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Contains("The VM could not resume", error.Messages);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    [Fact]
    public async Task SaveSnapshotsThePausedVmAndRestoreBringsItsMemoryBackInANewVmm()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);
        var saved = launcher.Vmm;
        var memory = saved.GuestMemory;
        var state = Directory.CreateDirectory(vm.PathOf("saved")).FullName;

        await driver.SaveStateAsync(instance, state, CancellationToken.None);

        Assert.Equal(["vm.info", "vm.pause", "vm.snapshot"], saved.Requests.SkipWhile(r => r.Endpoint != "vm.info").Select(r => r.Endpoint));
        var snapshot = JsonNode.Parse(saved.Requests.Single(r => r.Endpoint == "vm.snapshot").Body!)!;
        Assert.Equal("file://" + state, snapshot["destination_url"]!.GetValue<string>());
        Assert.Equal("Paused", saved.VmState);
        Assert.Equal(["config.json", "memory-ranges", "state.json"], Directory.GetFiles(state).Select(Path.GetFileName).Order());
        await driver.KillAsync(instance, CancellationToken.None);

        var restored = await driver.RestoreAsync(vm.Spec(), state, Task.CompletedTask, CancellationToken.None);

        var vmm = launcher.Vmm;
        Assert.NotSame(saved, vmm);
        Assert.Equal(["vm.restore", "vm.resume"], vmm.Requests.Where(r => r.Endpoint != "vmm.ping").Select(r => r.Endpoint));
        var restore = JsonNode.Parse(vmm.Requests.Single(r => r.Endpoint == "vm.restore").Body!)!;
        // The VM's own restore directory, gone once CH has read it; the memory it read is the saved file itself.
        Assert.Equal("file://" + vm.PathOf("ch-restore"), restore["source_url"]!.GetValue<string>());
        Assert.False(restore["prefault"]!.GetValue<bool>());
        Assert.Equal("OnDemand", restore["memory_restore_mode"]!.GetValue<string>());
        Assert.False(Directory.Exists(vm.PathOf("ch-restore")));
        Assert.Equal(UnixFileType.Inode(Path.Combine(state, "memory-ranges")), vmm.Restored!.MemoryFileInode);
        Assert.Equal("Running", vmm.VmState);
        Assert.Equal(memory, vmm.GuestMemory);
        await using (var agent = await new HybridVsockConnector(restored.Agent.SocketPath!, restored.Agent.Port).ConnectAsync(CancellationToken.None))
        {
            await agent.WriteAsync("after restore"u8.ToArray());
            var echoed = new byte[13];
            await agent.ReadExactlyAsync(echoed);
            Assert.Equal("after restore", Encoding.ASCII.GetString(echoed));
        }

        await driver.KillAsync(restored, CancellationToken.None);
    }

    [Fact]
    public async Task ARestoreCloudHypervisorRefusesCarriesItsErrorChainAndLeavesNothingRunning()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);
        var state = Directory.CreateDirectory(vm.PathOf("saved")).FullName;
        await driver.SaveStateAsync(instance, state, CancellationToken.None);
        await driver.KillAsync(instance, CancellationToken.None);
        await using (var memory = new FileStream(Path.Combine(state, "memory-ranges"), FileMode.Open, FileAccess.Write))
        {
            memory.SetLength(memory.Length - 1);
        }

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => driver.RestoreAsync(vm.Spec(), state, Task.CompletedTask, CancellationToken.None));

        Assert.Equal("vm.restore", error.Operation);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("The VM could not be restored", error.Messages[1]);
        Assert.False(ProcessProbe.IsRunning(launcher.Vmm.Process));
        Assert.False(File.Exists(vm.PathOf("ch.sock")));
        Assert.False(Directory.Exists(vm.PathOf("ch-restore")));
    }

    [Fact]
    public async Task SnapshottingARunningVmOrToAnotherSchemeIsRefusedByCloudHypervisor()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);

        var running = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.SnapshotVmAsync(vm.Directory, CancellationToken.None));
        Assert.Equal(HttpStatusCode.InternalServerError, running.StatusCode);
        Assert.Contains("The VM could not be snapshotted", running.Messages);
        Assert.Equal("Running", launcher.Vmm.VmState);

        var created = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.RestoreVmAsync(vm.Directory, memory: null, CancellationToken.None));
        Assert.Equal(["Error from API", "The VM could not be restored", "VM is already created"], created.Messages);
        await driver.KillAsync(instance, CancellationToken.None);
    }
}
