using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// IdleTime's bookkeeping on a real state database. The "hypervisor" is this test process and the "TAP" its
/// network namespace's loopback, whose packet counters this test moves by sending UDP datagrams to itself.
/// </summary>
public sealed class VmActivityTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [Fact]
    public async Task AnExecRecordedInOneSessionIsSeenByTheNextAndIdleTimeCountsFromIt()
    {
        var vm = await RunningVmAsync();
        await new VmActivity(await StoreAsync()).RecordAsync(vm, CancellationToken.None);

        var later = await (await StoreAsync()).FindByIdAsync(vm.Id, CancellationToken.None);

        Assert.NotNull(later!.LastActivityAt);
        Assert.InRange(DateTimeOffset.UtcNow - later.LastActivityAt.Value, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        var info = Info(later) with { StartedAt = later.LastActivityAt.Value.AddHours(-1) };
        Assert.InRange(info.IdleTime!.Value, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.Null((info with { State = VmState.Saved }).IdleTime);
    }

    [Fact]
    public async Task TheFirstPacketCountIsABaselineAndAChangedOneIsActivity()
    {
        var store = await StoreAsync();
        var activity = new VmActivity(store);
        var vm = await RunningVmAsync();

        var baseline = await ObserveAsync(activity, vm);
        Assert.NotNull(baseline.NetworkPackets);
        Assert.Null(baseline.LastActivityAt);

        SendDatagramsToSelf();
        var observed = await ObserveAsync(activity, await store.FindByIdAsync(vm.Id, CancellationToken.None) ?? vm);

        Assert.True(observed.NetworkPackets > baseline.NetworkPackets);
        Assert.NotNull(observed.LastActivityAt);
        var stored = await (await StoreAsync()).FindByIdAsync(vm.Id, CancellationToken.None);
        Assert.Equal(observed.NetworkPackets, stored!.NetworkPackets);
        Assert.Equal(observed.LastActivityAt!.Value.ToUnixTimeSeconds(), stored.LastActivityAt!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task AVmThatIsNotRunningOrWhoseProcessIsGoneIsNotObserved()
    {
        var store = await StoreAsync();
        var activity = new VmActivity(store);
        var vm = await RunningVmAsync();
        var gone = vm with { Instance = vm.Instance! with { Process = new ProcessIdentity(Environment.ProcessId, 1) } };

        var observed = await activity.ObserveNetworkAsync(
            [(gone, Loopback(vm)), (vm with { State = VmState.Paused }, Loopback(vm)), (vm, null)],
            CancellationToken.None);

        Assert.All(observed, record => Assert.Null(record.NetworkPackets));
        Assert.Null((await store.FindByIdAsync(vm.Id, CancellationToken.None))!.NetworkPackets);
    }

    [Fact]
    public async Task NothingIsWrittenForAVmThatIsNotRunningInTheDatabase()
    {
        var store = await StoreAsync();
        var activity = new VmActivity(store);
        var vm = await RunningVmAsync();
        await store.UpdateAsync(vm.Id, current => current with { State = VmState.Stopped, Instance = null }, CancellationToken.None);

        // The caller still holds the row as it was read while running: the database's state decides.
        await activity.RecordAsync(vm, CancellationToken.None);
        await ObserveAsync(activity, vm);
        await activity.RecordAsync(vm with { State = VmState.Stopped }, CancellationToken.None);

        var stored = await store.FindByIdAsync(vm.Id, CancellationToken.None);
        Assert.Null(stored!.LastActivityAt);
        Assert.Null(stored.NetworkPackets);
    }

    [Fact]
    public async Task AReadGetsItsObservationWhenAnotherSessionHoldsTheWriteLockAndNothingIsWritten()
    {
        var store = await StoreAsync();
        var activity = new VmActivity(store);
        var vm = await RunningVmAsync();

        // Another session's write transaction, held for the whole observation (the database's busy timeout is 30 s).
        await using (var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = home.Paths.StateDatabase, Pooling = false }.ToString()))
        {
            await other.OpenAsync();
            await using var transaction = other.BeginTransaction(deferred: false);
            var elapsed = Stopwatch.StartNew();

            var observed = await ObserveAsync(activity, vm);
            await activity.RecordAsync(vm, CancellationToken.None);

            Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
            Assert.NotNull(observed.NetworkPackets);
            Assert.Equal(vm.Name, observed.Name);
        }

        var stored = await store.FindByIdAsync(vm.Id, CancellationToken.None);
        Assert.Null(stored!.NetworkPackets);
        Assert.Null(stored.LastActivityAt);
    }

    private static async Task<VmRecord> ObserveAsync(VmActivity activity, VmRecord vm) =>
        (await activity.ObserveNetworkAsync([(vm, Loopback(vm))], CancellationToken.None)).Single();

    public void Dispose() => home.Dispose();

    private bool imageStored;

    /// <summary>A store of its own, as another session would open it; the first one also stores the test image.</summary>
    private async Task<VmStore> StoreAsync()
    {
        if (imageStored)
        {
            return new VmStore(new StateDatabase(home.Paths.StateDatabase));
        }

        imageStored = true;
        return new VmStore(await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase));
    }

    private async Task<VmRecord> RunningVmAsync()
    {
        var store = await StoreAsync();
        var vm = await store.InsertAsync(StoreFixtures.Vm("idle"), CancellationToken.None);
        var instance = new HypervisorInstance(HypervisorKind.Qemu, ProcessProbe.Current(), "/run/qmp.sock", AgentEndpoint.VirtioSerial("/run/agent.sock"));
        return (await store.UpdateAsync(vm.Id, current => current with { State = VmState.Running, Instance = instance, StartedAt = DateTimeOffset.UtcNow }, CancellationToken.None))!;
    }

    private static NetworkAdapterInfo Loopback(VmRecord vm) => new()
    {
        VmId = vm.Id,
        VmName = vm.Name,
        Network = "default",
        Tap = "lo",
        MacAddress = vm.MacAddress,
        IPAddress = "10.100.0.2",
        PrefixLength = 16,
        Gateway = "10.100.0.1",
        Dns = [],
        Mtu = 1500,
        Plugged = true,
        Status = NetworkAdapterStatus.Connected,
    };

    private static VmInfo Info(VmRecord vm) => new()
    {
        Id = vm.Id,
        Name = vm.Name,
        State = vm.State,
        Image = vm.ImageName,
        Cpus = vm.Cpus,
        MemoryMiB = vm.MemoryMiB,
        Hypervisor = vm.Hypervisor,
        KernelPath = vm.KernelPath,
        VsockCid = vm.VsockCid,
        MacAddress = vm.MacAddress,
        Directory = "/vm",
        CreatedAt = vm.CreatedAt,
        StartedAt = vm.StartedAt,
        LastActivityAt = vm.LastActivityAt,
    };

    private static void SendDatagramsToSelf()
    {
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new UdpClient();
        for (var i = 0; i < 3; i++)
        {
            sender.Send([1, 2, 3], 3, (IPEndPoint)receiver.Client.LocalEndPoint!);
        }
    }
}
