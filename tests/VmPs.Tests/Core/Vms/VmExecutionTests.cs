using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>VmManager.StartExecAsync and ExecAsync against the shared booted busybox VM.</summary>
[Collection(VmBootCollection.Name)]
public sealed class VmExecutionTests(BootedBusyboxVm vm)
{
    private const int SigTerm = 15;

    private VmManager Manager => vm.Manager;

    [RequiresVmBootFact]
    public async Task Lines_come_in_order_per_stream_with_the_unfinished_last_line_at_the_end()
    {
        await using var execution = await StartAsync(["/bin/sh", "-c", "echo one; echo bad >&2; echo two; printf 'no newline'; printf 'late' >&2"]);
        await execution.CloseStandardInputAsync(default);

        var lines = await ReadAllLinesAsync(execution);
        var exit = await execution.WaitForExitAsync(default);

        Assert.Equal(["one", "two", "no newline"], TextOf(lines, AgentOutputStream.Stdout));
        Assert.Equal(["bad", "late"], TextOf(lines, AgentOutputStream.Stderr));
        Assert.Equal(0, exit.ExitCode);
        Assert.Null(exit.Signal);
    }

    [RequiresVmBootFact]
    public async Task Output_streams_while_the_command_runs_and_stdin_streams_while_it_reads()
    {
        await using var execution = await StartAsync(["/bin/sh", "-c", "echo ready; while read line; do echo \"got $line\"; done; echo done"]);
        await using var lines = execution.ReadLinesAsync(default).GetAsyncEnumerator();

        // Each answer is read before the next input exists: the command sees stdin piece by piece, and its
        // output reaches the host while it is still running.
        Assert.Equal("ready", await NextLineAsync(lines));
        foreach (var word in new[] { "alpha", "beta", "gamma" })
        {
            await execution.WriteStandardInputAsync($"{word}\n", default);
            Assert.Equal($"got {word}", await NextLineAsync(lines));
        }

        await execution.CloseStandardInputAsync(default);
        Assert.Equal("done", await NextLineAsync(lines));
        Assert.False(await lines.MoveNextAsync());
        Assert.Equal(0, (await execution.WaitForExitAsync(default)).ExitCode);
    }

    [RequiresVmBootFact]
    public async Task Runs_as_the_given_user_with_the_environment_and_working_directory()
    {
        var result = await Manager.ExecAsync(
            BootedBusyboxVm.Name,
            new VmExecOptions
            {
                Command = ["/bin/sh", "-c", "id -u; id -g; echo \"$GREETING\"; pwd"],
                User = "1234:4321",
                Environment = new Dictionary<string, string> { ["GREETING"] = "hello from the host" },
                WorkingDirectory = "/tmp",
            },
            default);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("1234\n4321\nhello from the host\n/tmp\n", result.Stdout);
        Assert.Equal(BootedBusyboxVm.Name, result.VmName);
    }

    [RequiresVmBootFact]
    public async Task ExecAsync_feeds_StandardInput_and_returns_both_outputs_and_the_exit_code()
    {
        var input = string.Join('\n', Enumerable.Range(1, 2000).Select(number => $"line {number}")) + "\n";

        var result = await Manager.ExecAsync(
            BootedBusyboxVm.Name,
            new VmExecOptions { Command = ["/bin/sh", "-c", "cat; echo oops >&2; exit 3"], StandardInput = input },
            default);

        Assert.Equal(input, result.Stdout);
        Assert.Equal("oops\n", result.Stderr);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(["/bin/sh", "-c", "cat; echo oops >&2; exit 3"], result.Command);
    }

    [RequiresVmBootFact]
    public async Task A_timeout_kills_the_command_and_everything_it_started()
    {
        await using var execution = await StartAsync(["/bin/sh", "-c", "sleep 600 & echo $!; wait"], TimeSpan.FromSeconds(2));
        await using var lines = execution.ReadLinesAsync(default).GetAsyncEnumerator();
        var childPid = await NextLineAsync(lines);

        var error = await Assert.ThrowsAsync<VmPsException>(() => execution.WaitForExitAsync(default));

        Assert.Equal("AgentExecTimeout", error.ErrorId);
        Assert.Equal(VmPsErrorKind.OperationTimeout, error.Kind);
        Assert.Equal(BootedBusyboxVm.Name, error.Target);
        Assert.False(await IsAliveAsync(childPid));
    }

    [RequiresVmBootFact]
    public async Task A_signal_ends_the_command_and_is_reported()
    {
        await using var execution = await StartAsync(["sleep", "600"]);

        await execution.SignalAsync(SigTerm, default);
        var exit = await execution.WaitForExitAsync(default);

        Assert.Equal(SigTerm, exit.Signal);
        Assert.Equal(128 + SigTerm, exit.ExitCode);
    }

    [RequiresVmBootFact]
    public async Task Disposing_a_running_execution_kills_the_command_in_the_guest()
    {
        var execution = await StartAsync(["sleep", "600"]);
        var pid = execution.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await IsAliveAsync(pid));

        await execution.DisposeAsync();

        Assert.False(await IsAliveAsync(pid));
    }

    [RequiresVmBootFact]
    public async Task A_command_the_guest_cannot_start_is_the_agents_error_and_leaves_no_connection_behind()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => StartAsync(["/no/such/program"]));

        Assert.NotEqual("AgentConnectionLost", error.ErrorId);
        Assert.Equal(0, (await Manager.ExecAsync(BootedBusyboxVm.Name, new VmExecOptions { Command = ["true"] }, default)).ExitCode);
    }

    [RequiresVmBootFact]
    public async Task An_unknown_vm_is_VmNotFound()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => Manager.StartExecAsync("no-such-vm", new VmExecOptions { Command = ["true"] }, default));

        Assert.Equal("VmNotFound", error.ErrorId);
    }

    private Task<VmExecution> StartAsync(IReadOnlyList<string> command, TimeSpan? timeout = null) =>
        Manager.StartExecAsync(BootedBusyboxVm.Name, new VmExecOptions { Command = command, Timeout = timeout }, default);

    private async Task<bool> IsAliveAsync(string pid)
    {
        // A killed child may linger as a zombie until init reaps it: only a live (non-Z) process counts.
        var state = await Manager.ExecAsync(
            BootedBusyboxVm.Name,
            new VmExecOptions { Command = ["/bin/sh", "-c", $"sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' /proc/{pid}/status 2>/dev/null"] },
            default);
        return state.Stdout.Trim() is { Length: > 0 } letter && letter != "Z";
    }

    private static async Task<string> NextLineAsync(IAsyncEnumerator<VmOutputLine> lines)
    {
        Assert.True(await lines.MoveNextAsync(), "The output ended early.");
        Assert.Equal(AgentOutputStream.Stdout, lines.Current.Stream);
        return lines.Current.Text;
    }

    private static async Task<List<VmOutputLine>> ReadAllLinesAsync(VmExecution execution)
    {
        var lines = new List<VmOutputLine>();
        await foreach (var line in execution.ReadLinesAsync(default))
        {
            lines.Add(line);
        }

        return lines;
    }

    private static string[] TextOf(IEnumerable<VmOutputLine> lines, AgentOutputStream stream) =>
        lines.Where(line => line.Stream == stream).Select(line => line.Text).ToArray();
}
