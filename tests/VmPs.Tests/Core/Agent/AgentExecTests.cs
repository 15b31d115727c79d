using System.Text;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Agent;

public class AgentExecTests : IClassFixture<GuestAgentFixture>
{
    private readonly GuestAgentProcess agent;

    public AgentExecTests(GuestAgentFixture fixture)
    {
        agent = fixture.Agent;
    }

    [Fact]
    public async Task Ping_reports_the_agent_version_and_uptime()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var pong = await client.PingAsync(default);

        Assert.Equal(ProtocolInfo.ProductVersion, pong.AgentVersion);
        Assert.Equal(ProtocolInfo.ProductVersion, client.AgentVersion);
        Assert.True(pong.Uptime > TimeSpan.Zero);
    }

    [Fact]
    public async Task Exec_returns_stdout_stderr_and_the_exit_code()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]), default);

        Assert.Equal(("out\n", "err\n", 3, (int?)null), (result.Stdout, result.Stderr, result.ExitCode, result.Signal));
    }

    [Fact]
    public async Task Stdin_text_reaches_the_command_and_is_then_closed()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var input = string.Join("\n", Enumerable.Range(1, 30_000).Select(i => $"line {i}")) + "\n";

        var echoed = await client.ExecAsync(new AgentExecRequest(["cat"]) { StandardInput = input }, default);
        var counted = await client.ExecAsync(new AgentExecRequest(["wc", "-l"]) { StandardInput = input }, default);

        Assert.Equal(input, echoed.Stdout);
        Assert.Equal("30000", counted.Stdout.Trim());
    }

    [Fact]
    public async Task Input_the_command_does_not_read_is_dropped_without_harm()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["head", "-c", "5"]) { StandardInput = new string('x', 4 * 1024 * 1024) }, default);
        var after = await client.PingAsync(default);

        Assert.Equal(("xxxxx", 0), (result.Stdout, result.ExitCode));
        Assert.Equal(ProtocolInfo.ProductVersion, after.AgentVersion);
    }

    [Fact]
    public async Task Without_input_stdin_is_closed_at_once()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["cat"]), default);

        Assert.Equal((0, ""), (result.ExitCode, result.Stdout));
    }

    [Fact]
    public async Task Large_output_arrives_complete_and_in_order()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["seq", "1", "200000"]), default);

        Assert.Equal(string.Concat(Enumerable.Range(1, 200_000).Select(i => $"{i}\n")), result.Stdout);
    }

    [Fact]
    public async Task A_background_process_holding_the_output_open_does_not_keep_the_exec_running()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["/bin/sh", "-c", "sleep 600 & echo $!"]) { Timeout = TimeSpan.FromSeconds(60) }, default);
        using var daemon = System.Diagnostics.Process.GetProcessById(int.Parse(result.Stdout));
        daemon.Kill();

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Environment_and_working_directory_apply_over_the_agent_environment()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var request = new AgentExecRequest(["/bin/sh", "-c", "echo \"$GREETING|$VMPS_TEST_BASE\"; pwd"])
        {
            Environment = new Dictionary<string, string> { ["GREETING"] = "hello world" },
            WorkingDirectory = "/usr",
        };

        var result = await client.ExecAsync(request, default);

        Assert.Equal("hello world|from-agent-environment\n/usr\n", result.Stdout);
    }

    [Fact]
    public async Task A_signal_ends_the_exec_and_the_result_names_it()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["sleep", "60"]), default);

        await execution.SignalAsync(15, processGroup: false, default);
        var exit = await execution.Completion;

        Assert.True(execution.Pid > 0);
        Assert.Equal((143, (int?)15), (exit.ExitCode, exit.Signal));
    }

    [Fact]
    public async Task Streaming_output_arrives_before_the_process_ends()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["/bin/sh", "-c", "echo ready; read line; echo \"got $line\""]), default);

        Assert.True(await execution.Output.WaitToReadAsync());
        Assert.True(execution.Output.TryRead(out var first));
        Assert.False(execution.Completion.IsCompleted);
        await execution.WriteStandardInputAsync("go\n"u8.ToArray(), default);
        await execution.CloseStandardInputAsync(default);
        var rest = new StringBuilder();
        await foreach (var chunk in execution.Output.ReadAllAsync())
        {
            rest.Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }

        Assert.Equal((AgentOutputStream.Stdout, "ready\n"), (first.Stream, Encoding.UTF8.GetString(first.Data.Span)));
        Assert.Equal("got go\n", rest.ToString());
        Assert.Equal(0, (await execution.Completion).ExitCode);
    }

    [Fact]
    public async Task Twenty_execs_run_concurrently_on_one_connection()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        // Each exec waits for a file the last one creates: they can only all finish if they run at the same time.
        var directory = Directory.CreateTempSubdirectory("vmps-concurrent-").FullName;
        var gate = Path.Combine(directory, "go");
        var execs = Enumerable.Range(0, 20).Select(i => client.ExecAsync(
            new AgentExecRequest(["/bin/sh", "-c", $"touch {directory}/started-{i}; [ $(ls {directory} | wc -l) -ge 20 ] && touch {gate}; while [ ! -e {gate} ]; do sleep 0.05; done; echo {i}"])
            {
                Timeout = TimeSpan.FromMinutes(2),
            },
            default)).ToArray();
        var results = await Task.WhenAll(execs);
        Directory.Delete(directory, recursive: true);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{i}\n"), results.Select(result => result.Stdout));
    }

    [Fact]
    public async Task An_unknown_command_is_a_specific_error()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var error = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest(["no-such-command-vmps"]), default));

        Assert.Equal(("GuestCommandNotFound", VmPsErrorKind.ObjectNotFound), (error.ErrorId, error.Kind));
        Assert.Contains("no-such-command-vmps", error.Message);
    }

    [Fact]
    public async Task A_missing_working_directory_is_a_specific_error()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            client.ExecAsync(new AgentExecRequest(["true"]) { WorkingDirectory = "/no/such/dir" }, default));

        Assert.Equal("GuestExecFailed", error.ErrorId);
        Assert.Contains("/no/such/dir", error.Message);
    }

    [Fact]
    public async Task Bad_requests_are_refused_before_reaching_the_guest()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var empty = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest([]), default));
        var badVariable = await Assert.ThrowsAsync<VmPsException>(() =>
            client.ExecAsync(new AgentExecRequest(["true"]) { Environment = new Dictionary<string, string> { ["A=B"] = "c" } }, default));

        Assert.Equal(("InvalidGuestCommand", "InvalidGuestEnvironment"), (empty.ErrorId, badVariable.ErrorId));
    }

    [Fact]
    public async Task A_timeout_kills_the_command_with_a_clear_error_and_the_connection_stays_usable()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var marker = Path.Combine(Path.GetTempPath(), $"vmps-timeout-{Guid.NewGuid():N}");

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            client.ExecAsync(new AgentExecRequest(["/bin/sh", "-c", $"sleep 30; touch {marker}"]) { Timeout = TimeSpan.FromMilliseconds(300) }, default));
        var after = await client.ExecAsync(new AgentExecRequest(["echo", "still here"]), default);

        Assert.Equal(("AgentExecTimeout", VmPsErrorKind.OperationTimeout), (error.ErrorId, error.Kind));
        Assert.Contains("was killed", error.Message);
        Assert.Equal("still here\n", after.Stdout);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_streamed_exec_is_killed_at_its_timeout_with_what_it_started()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var execution = await client.StartExecAsync(new AgentExecRequest(["/bin/sh", "-c", "sleep 600 & echo $!; wait"]) { Timeout = TimeSpan.FromSeconds(2) }, default);
        var stdout = await ExecTestSupport.ReadStdoutAsync(execution).WaitAsync(TimeSpan.FromMinutes(2));
        var sleeper = int.Parse(Encoding.UTF8.GetString(stdout).Trim());
        var error = await Assert.ThrowsAsync<VmPsException>(() => execution.WaitForExitAsync(default));

        Assert.Equal(("AgentExecTimeout", VmPsErrorKind.OperationTimeout), (error.ErrorId, error.Kind));
        Assert.True(await ExitsWithinAsync(client, sleeper, TimeSpan.FromMinutes(1)), "the command's child survived the timeout");
    }

    [Fact]
    public async Task A_streamed_exec_that_ends_in_time_reports_its_exit()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var execution = await client.StartExecAsync(new AgentExecRequest(["/bin/sh", "-c", "exit 4"]) { Timeout = TimeSpan.FromMinutes(5) }, default);
        await ExecTestSupport.ReadStdoutAsync(execution).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(4, (await execution.WaitForExitAsync(default)).ExitCode);
    }

    [RequiresRootFact]
    public async Task A_command_runs_as_the_requested_user()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);

        var result = await client.ExecAsync(new AgentExecRequest(["id", "-u"]) { User = "nobody", WorkingDirectory = "/" }, default);
        var unknown = await Assert.ThrowsAsync<VmPsException>(() => client.ExecAsync(new AgentExecRequest(["id"]) { User = "no-such-user-vmps" }, default));

        Assert.Equal("65534\n", result.Stdout);
        Assert.Equal("GuestUserNotFound", unknown.ErrorId);
    }

    /// <summary>True once the process is gone (or a zombie) in the agent's machine.</summary>
    private static async Task<bool> ExitsWithinAsync(AgentClient client, int pid, TimeSpan deadline)
    {
        using var patience = new CancellationTokenSource(deadline);
        while (!patience.IsCancellationRequested)
        {
            var probe = await client.ExecAsync(new AgentExecRequest(["/bin/sh", "-c", $"test ! -e /proc/{pid} || grep -q ') Z' /proc/{pid}/stat"]), default);
            if (probe.ExitCode == 0)
            {
                return true;
            }

            await Task.Delay(100, CancellationToken.None);
        }

        return false;
    }
}
