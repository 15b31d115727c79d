using System.Text;
using VmPs.Core.Agent;
using VmPs.Tests.Core.Agent;

namespace VmPs.Tests.Integration;

/// <summary>The exec contract against the agent in a booted VM (QEMU, virtio-serial): streaming, stdin, signals, concurrency, TTY, clock.</summary>
[Collection(VmBootCollection.Name)]
public sealed class AgentExecVmTests
{
    private readonly BootedBusyboxVm vm;

    public AgentExecVmTests(BootedBusyboxVm vm)
    {
        this.vm = vm;
    }

    [RequiresVmBootFact]
    public async Task Output_lines_stream_in_order_before_the_command_exits()
    {
        await using var client = await ConnectAsync();
        var execution = await client.StartExecAsync(
            new AgentExecRequest(["sh", "-c", "for i in $(seq 1 50); do echo line $i; done; read finish; echo \"end $finish\""]),
            default);
        var output = new StringBuilder();

        await ExecTestSupport.ReadUntilAsync(execution, output, "line 50\n");
        var exitedBeforeInput = execution.Completion.IsCompleted;
        await execution.WriteStandardInputAsync("now\n"u8.ToArray(), default);
        await execution.CloseStandardInputAsync(default);
        await ExecTestSupport.DrainAsync(execution, output);

        Assert.False(exitedBeforeInput);
        Assert.Equal(string.Concat(Enumerable.Range(1, 50).Select(i => $"line {i}\n")) + "end now\n", output.ToString());
        Assert.Equal(0, (await execution.Completion).ExitCode);
    }

    [RequiresVmBootFact]
    public async Task A_MiB_of_binary_stdin_comes_back_through_cat_byte_for_byte()
    {
        await using var client = await ConnectAsync();
        var data = new byte[1024 * 1024];
        new Random(11).NextBytes(data);

        var echoed = await ExecTestSupport.RoundTripAsync(client, data);

        Assert.True(data.AsSpan().SequenceEqual(echoed), $"cat returned {echoed.Length} bytes that differ from the {data.Length} sent");
    }

    [RequiresVmBootFact]
    public async Task Sleep_killed_by_SIGTERM_reports_the_signal()
    {
        await using var client = await ConnectAsync();
        var execution = await client.StartExecAsync(new AgentExecRequest(["sleep", "100"]), default);

        await execution.SignalAsync(15, processGroup: false, default);
        var exit = await execution.Completion;

        Assert.Equal((143, (int?)15), (exit.ExitCode, exit.Signal));
    }

    [RequiresVmBootFact]
    public async Task Twenty_concurrent_execs_all_get_their_own_output()
    {
        await using var client = await ConnectAsync();
        var directory = $"/tmp/vmps-exec-tests/{Guid.NewGuid():N}";
        await client.ExecAsync(new AgentExecRequest(["mkdir", "-p", directory]), default);

        // Each waits until all twenty have started: they can only finish if they run at the same time.
        var execs = Enumerable.Range(0, 20).Select(i => client.ExecAsync(
            new AgentExecRequest(["sh", "-c", $"touch {directory}/{i}; while [ $(ls {directory} | wc -l) -lt 20 ]; do sleep 0.05; done; seq 1 {1000 + i}; echo err-{i} >&2"])
            {
                Timeout = TimeSpan.FromMinutes(5),
            },
            default)).ToArray();
        var results = await Task.WhenAll(execs);

        Assert.Equal(
            Enumerable.Range(0, 20).Select(i => (string.Concat(Enumerable.Range(1, 1000 + i).Select(n => $"{n}\n")), $"err-{i}\n", 0)),
            results.Select(result => (result.Stdout, result.Stderr, result.ExitCode)));
    }

    [RequiresVmBootFact]
    public async Task A_tty_exec_has_a_terminal_of_the_given_size_and_sees_a_resize()
    {
        await using var client = await ConnectAsync();
        var facts = await client.ExecAsync(
            new AgentExecRequest(["sh", "-c", "tty; test -t 0 && echo stdin-is-a-terminal; stty size"]) { Tty = true, TerminalSize = new AgentTerminalSize(91, 27) },
            default);
        var execution = await client.StartExecAsync(
            new AgentExecRequest(["sh", "-c", "trap 'stty size; exit 5' WINCH; echo ready; while :; do sleep 0.05; done"]) { Tty = true },
            default);
        var output = new StringBuilder();

        await ExecTestSupport.ReadUntilAsync(execution, output, "ready");
        await execution.ResizeTerminalAsync(120, 40, default);
        await ExecTestSupport.DrainAsync(execution, output);

        var lines = facts.Stdout.Split("\r\n");
        Assert.StartsWith("/dev/pts/", lines[0]);
        Assert.Equal(["stdin-is-a-terminal", "27 91", ""], lines[1..]);
        Assert.EndsWith("40 120\r\n", output.ToString());
        Assert.Equal(5, (await execution.Completion).ExitCode);
    }

    [RequiresVmBootFact]
    public async Task Clock_sync_sets_a_wrong_guest_clock_to_the_hosts_time()
    {
        await using var client = await ConnectAsync();
        await client.ExecAsync(new AgentExecRequest(["date", "-s", "@1000000000"]), default);

        var sync = await client.SyncClockAsync(default);
        var guestNow = long.Parse((await client.ExecAsync(new AgentExecRequest(["date", "+%s"]), default)).Stdout.Trim());
        var hostNow = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        Assert.InRange(sync.Offset.TotalSeconds, -(hostNow - 1_000_000_000) - 3600, -(hostNow - 1_000_000_000) + 3600);
        Assert.InRange(guestNow, hostNow - 300, hostNow + 5);
    }

    private Task<AgentClient> ConnectAsync() => vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
}
