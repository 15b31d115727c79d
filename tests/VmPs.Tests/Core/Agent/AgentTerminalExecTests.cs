using System.Text;
using VmPs.Core;
using VmPs.Core.Agent;

namespace VmPs.Tests.Core.Agent;

/// <summary>TTY execs of the real agent binary, run outside a VM (host mode): pseudo-terminal, size, resize, Ctrl+C.</summary>
public class AgentTerminalExecTests : IClassFixture<GuestAgentFixture>
{
    private readonly GuestAgentProcess agent;

    public AgentTerminalExecTests(GuestAgentFixture fixture)
    {
        agent = fixture.Agent;
    }

    [Fact]
    public async Task A_tty_exec_runs_on_a_terminal_of_the_requested_size()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(
            new AgentExecRequest(["/bin/sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2 && echo all-terminals; stty size; echo to-stderr >&2"])
            {
                Tty = true,
                TerminalSize = new AgentTerminalSize(100, 30),
            },
            default);

        var lines = result.Stdout.Split("\r\n");
        Assert.StartsWith("/dev/pts/", lines[0]);
        Assert.Equal(["all-terminals", "30 100", "to-stderr", ""], lines[1..]);
        Assert.Equal(("", 0), (result.Stderr, result.ExitCode));
    }

    [Fact]
    public async Task A_pipe_exec_has_no_terminal()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["/bin/sh", "-c", "test -t 0 || echo no-terminal"]), default);

        Assert.Equal("no-terminal\n", result.Stdout);
    }

    [Fact]
    public async Task A_resize_reaches_the_process_as_SIGWINCH_with_the_new_size()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(
            new AgentExecRequest(["/bin/sh", "-c", "trap 'stty size; exit 7' WINCH; echo ready; while :; do sleep 0.05; done"]) { Tty = true },
            default);
        var output = new StringBuilder();

        await ExecTestSupport.ReadUntilAsync(execution, output, "ready");
        await execution.ResizeTerminalAsync(132, 43, default);
        await ExecTestSupport.DrainAsync(execution, output);

        Assert.EndsWith("43 132\r\n", output.ToString());
        Assert.Equal(7, (await execution.Completion).ExitCode);
    }

    [Fact]
    public async Task Ctrl_C_typed_into_the_terminal_interrupts_the_foreground_process_at_the_first_press()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        // sleep itself is the terminal's foreground process, and the key is pressed the moment the exec starts: the
        // agent forwards input only once the child runs on its terminal (own session, controlling terminal, SIGINT
        // at its default), so there is no moment in which a 0x03 finds no foreground process group to signal.
        // (A shell between commands is another matter: Debian's sh, dash, holds back a SIGINT that arrives while it
        // starts its next command until that command ends, and the command, not yet running then, never gets it.)
        var execution = await client.StartExecAsync(new AgentExecRequest(["sleep", "600"]) { Tty = true }, default);
        var drained = ExecTestSupport.DrainAsync(execution, new StringBuilder());

        await execution.WriteStandardInputAsync(new byte[] { 0x03 }, default);
        var exit = await execution.Completion.WaitAsync(ExecTestSupport.Deadline);
        await drained;

        Assert.Equal((130, (int?)2), (exit.ExitCode, exit.Signal));
    }

    [Fact]
    public async Task Typed_input_is_echoed_and_read_by_the_process_line_by_line()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["/bin/sh", "-c", "read name; echo \"hello $name\""]) { Tty = true }, default);
        var output = new StringBuilder();

        await execution.WriteStandardInputAsync("vm\r"u8.ToArray(), default);
        await ExecTestSupport.DrainAsync(execution, output);

        Assert.Equal("vm\r\nhello vm\r\n", output.ToString());
    }

    [Fact]
    public async Task Impossible_terminal_sizes_are_refused_and_a_pipe_exec_cannot_be_resized()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var badSize = await Assert.ThrowsAsync<VmPsException>(() =>
            client.ExecAsync(new AgentExecRequest(["true"]) { Tty = true, TerminalSize = new AgentTerminalSize(0, 24) }, default));
        var execution = await client.StartExecAsync(new AgentExecRequest(["cat"]), default);
        var noTerminal = await Assert.ThrowsAsync<VmPsException>(() => execution.ResizeTerminalAsync(80, 24, default).AsTask());
        await execution.CloseStandardInputAsync(default);
        await ExecTestSupport.DrainAsync(execution, new StringBuilder());

        Assert.Equal(("InvalidTerminalSize", VmPsErrorKind.InvalidArgument), (badSize.ErrorId, badSize.Kind));
        Assert.Equal("GuestExecHasNoTerminal", noTerminal.ErrorId);
    }
}
