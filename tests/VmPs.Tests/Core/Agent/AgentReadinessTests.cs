using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Agent;

public sealed class AgentReadinessTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task Waiting_succeeds_once_an_agent_that_starts_late_answers()
    {
        // The agent process owns (and deletes) its directory.
        var directory = Directory.CreateDirectory(scratch.Combine("agent")).FullName;
        var socket = Path.Combine(directory, "agent.sock");
        var waiting = AgentReadiness.WaitAsync(new AgentVirtioSerialConnector(socket), TimeSpan.FromMinutes(1), () => true, default);

        await using var agent = GuestAgentProcess.Launch(directory, socket);
        await using var client = await waiting;

        Assert.Equal("up\n", (await client.ExecAsync(new AgentExecRequest(["echo", "up"]), default)).Stdout);
    }

    [Fact]
    public async Task A_dead_VM_fails_fast_with_a_specific_error()
    {
        var connector = new AgentVirtioSerialConnector(scratch.Combine("no-agent.sock"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => AgentReadiness.WaitAsync(connector, TimeSpan.FromMinutes(5), () => false, default));

        Assert.Equal("VmExitedBeforeAgentReady", error.ErrorId);
    }

    [Fact]
    public async Task A_VM_that_dies_while_the_handshake_waits_fails_with_a_specific_error()
    {
        var alive = true;
        await using var server = new FakeAgentServer(async stream =>
        {
            // Accepts, never answers (a guest whose agent never opened its port), until the VM "dies".
            alive = false;
            await FakeAgentServer.DrainUntilHangupAsync(stream);
        });

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            AgentReadiness.WaitAsync(new AgentVirtioSerialConnector(server.SocketPath), TimeSpan.FromMinutes(5), () => alive, default));

        Assert.Equal("VmExitedBeforeAgentReady", error.ErrorId);
    }

    [Fact]
    public async Task No_agent_until_the_deadline_is_AgentNotReady()
    {
        var connector = new AgentVirtioSerialConnector(scratch.Combine("no-agent.sock"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => AgentReadiness.WaitAsync(connector, TimeSpan.FromMilliseconds(200), () => true, default));

        Assert.Equal(("AgentNotReady", VmPsErrorKind.OperationTimeout), (error.ErrorId, error.Kind));
        Assert.Contains("did not answer within", error.Message);
    }
}
