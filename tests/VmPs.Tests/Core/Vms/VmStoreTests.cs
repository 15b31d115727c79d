using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Vms;

public sealed class VmStoreTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [Fact]
    public async Task InsertAllocatesTheLowestFreeCidAndALocallyAdministeredMac()
    {
        var store = await StoreAsync();

        var first = await store.InsertAsync(StoreFixtures.Vm("a"), CancellationToken.None);
        var second = await store.InsertAsync(StoreFixtures.Vm("b"), CancellationToken.None);
        await store.DeleteAsync(first.Id, _ => { }, CancellationToken.None);
        var third = await store.InsertAsync(StoreFixtures.Vm("c"), CancellationToken.None);

        Assert.Equal([3u, 4u, 3u], new[] { first.VsockCid, second.VsockCid, third.VsockCid });
        Assert.All(new[] { first, second, third }, vm => Assert.Matches("^02:76:6d(:[0-9a-f]{2}){3}$", vm.MacAddress));
        Assert.Equal(VmState.Stopped, first.State);
        Assert.Equal("test-image", first.ImageName);
    }

    [Fact]
    public async Task DuplicateNameInAnyCaseIsRefused()
    {
        var store = await StoreAsync();
        await store.InsertAsync(StoreFixtures.Vm("Web"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() => store.InsertAsync(StoreFixtures.Vm("wEB"), CancellationToken.None));

        Assert.Equal("VmNameInUse", error.ErrorId);
        Assert.Equal(VmPsErrorKind.ResourceExists, error.Kind);
        Assert.Single(await store.GetAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentConnectionsNeverShareAnAllocation()
    {
        await StoreAsync();
        var inserts = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var store = new VmStore(new StateDatabase(home.Paths.StateDatabase));
            for (var i = 0; i < 10; i++)
            {
                await store.InsertAsync(StoreFixtures.Vm($"w{worker}-{i}"), CancellationToken.None);
            }
        }));

        await Task.WhenAll(inserts);

        await AssertDistinctAllocationsAsync(40);
    }

    [Fact]
    public async Task ConcurrentProcessesNeverShareAnAllocation()
    {
        await StoreAsync();
        var testAssembly = typeof(StartupHook).Assembly.Location;
        var children = Enumerable.Range(0, 4).Select(worker =>
        {
            var start = new ProcessStartInfo("dotnet", [testAssembly]) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["DOTNET_STARTUP_HOOKS"] = testAssembly;
            start.Environment[StartupHook.DatabaseVariable] = home.Paths.StateDatabase;
            start.Environment[StartupHook.PrefixVariable] = $"p{worker}";
            start.Environment[StartupHook.CountVariable] = "8";
            return Process.Start(start)!;
        }).ToList();

        foreach (var child in children)
        {
            var stderr = child.StandardError.ReadToEndAsync();
            var stdout = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            Assert.True(child.ExitCode == 0, $"child failed: {await stderr}");
            Assert.Equal(8, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }

        await AssertDistinctAllocationsAsync(32);
    }

    [Fact]
    public async Task UpdateStoresTheInstanceAndARefusedTransitionChangesNothing()
    {
        var store = await StoreAsync();
        var vm = await store.InsertAsync(StoreFixtures.Vm("a"), CancellationToken.None);
        var instance = new HypervisorInstance(
            HypervisorKind.Qemu, new ProcessIdentity(1234, 5678), "/run/qmp.sock", AgentEndpoint.VirtioSerial("/run/agent.sock"));
        var started = DateTimeOffset.UtcNow;

        await store.UpdateAsync(vm.Id, current => current with { State = VmState.Running, Instance = instance, StartedAt = started }, CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.UpdateAsync(vm.Id, _ => throw new InvalidOperationException("refused"), CancellationToken.None));

        var stored = await new VmStore(new StateDatabase(home.Paths.StateDatabase)).FindByNameAsync("A", CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(VmState.Running, stored.State);
        Assert.Equal(instance, stored.Instance);
        Assert.Equal(started, stored.StartedAt);
        Assert.Null(await store.UpdateAsync(Guid.NewGuid(), current => current, CancellationToken.None));
    }

    public void Dispose() => home.Dispose();

    private async Task<VmStore> StoreAsync() =>
        new(await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase));

    private async Task AssertDistinctAllocationsAsync(int expected)
    {
        var vms = await new VmStore(new StateDatabase(home.Paths.StateDatabase)).GetAllAsync(CancellationToken.None);
        Assert.Equal(expected, vms.Count);
        Assert.Equal(expected, vms.Select(vm => vm.MacAddress).Distinct().Count());
        Assert.Equal(Enumerable.Range(3, expected).Select(cid => (uint)cid), vms.Select(vm => vm.VsockCid).Order());
    }
}
