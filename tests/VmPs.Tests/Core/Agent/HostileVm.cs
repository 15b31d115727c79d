using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// A running VM, as the state database records it, whose agent is a <see cref="HostileAgent"/>: the real VmManager
/// (and the cmdlets, given <see cref="Home"/> as VMPS_HOME) reach the hostile double exactly as they reach a guest.
/// The hypervisor process recorded is this test process, alive while the test runs.
/// </summary>
internal sealed class HostileVm : IAsyncDisposable
{
    public const string Name = "hostile";

    private readonly TemporaryVmPsHome home;
    private readonly HostileAgent agent;

    private HostileVm(TemporaryVmPsHome home, HostileAgent agent)
    {
        this.home = home;
        this.agent = agent;
        Manager = VmTestHost.Manager(home.Paths);
    }

    public VmManager Manager { get; }

    public string Home => home.Paths.Root;

    public static async Task<HostileVm> StartAsync(HostileScript script)
    {
        var home = new TemporaryVmPsHome();
        var agent = new HostileAgent(script);
        try
        {
            var store = new VmStore(await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase));
            var row = await store.InsertAsync(StoreFixtures.Vm(Name), CancellationToken.None);
            var self = new ProcessIdentity(Environment.ProcessId, ProcessProbe.ReadStartTime(Environment.ProcessId) ?? 0);
            var instance = new HypervisorInstance(HypervisorKind.Qemu, self, Path.Combine(home.Paths.Root, "no-qmp.sock"), AgentEndpoint.VirtioSerial(agent.SocketPath));
            await store.UpdateAsync(row.Id, current => current with { State = VmState.Running, Instance = instance, StartedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
            return new HostileVm(home, agent);
        }
        catch
        {
            await agent.DisposeAsync();
            home.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await agent.DisposeAsync();
        home.Dispose();
    }
}
