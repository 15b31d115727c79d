using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>The per-exec flow-control windows: a slow reader or a process that does not read bounds what either end buffers.</summary>
public class AgentFlowControlTests : IClassFixture<GuestAgentFixture>
{
    private const int OutputBytes = 8 * 1024 * 1024;

    private readonly GuestAgentProcess agent;

    public AgentFlowControlTests(GuestAgentFixture fixture)
    {
        agent = fixture.Agent;
    }

    [Fact]
    public async Task Output_the_host_does_not_read_stops_at_the_window_and_resumes_when_read()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["head", "-c", OutputBytes.ToString(), "/dev/zero"]), default);

        // Let the agent send all it may; far more than a window would arrive if nothing held it back.
        using var deadline = new CancellationTokenSource(ExecTestSupport.Deadline);
        while (execution.BufferedOutputBytes < ExecFlowControl.OutputWindow - 64 * 1024)
        {
            await Task.Delay(20, deadline.Token);
        }

        await Task.Delay(500);
        var bufferedWhileNotReading = execution.BufferedOutputBytes;
        var finishedWhileNotReading = execution.Completion.IsCompleted;
        long total = 0;
        await foreach (var chunk in execution.Output.ReadAllAsync())
        {
            total += chunk.Data.Length;
        }

        Assert.InRange(bufferedWhileNotReading, 1, ExecFlowControl.OutputWindow);
        Assert.False(finishedWhileNotReading);
        Assert.Equal(OutputBytes, total);
        Assert.Equal(0, (await execution.Completion).ExitCode);
    }

    [Fact]
    public async Task Stdin_for_a_process_that_does_not_read_waits_for_credit_and_is_dropped_when_it_exits()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["/bin/sh", "-c", "echo started; sleep 600"]), default);

        var writing = execution.WriteStandardInputAsync(new byte[4 * ExecFlowControl.StdinWindow], default).AsTask();
        await execution.Output.ReadAsync();
        await Task.Delay(500);
        var blockedWhileNotRead = !writing.IsCompleted;
        await execution.SignalAsync(9, processGroup: true, default);
        await writing;
        var exit = await execution.Completion;

        Assert.True(blockedWhileNotRead);
        Assert.Equal(9, exit.Signal);
    }

    [Fact]
    public async Task A_command_echoing_much_more_than_both_windows_completes_in_a_buffered_exec()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var input = new string('x', 3 * ExecFlowControl.OutputWindow) + "\n";

        var result = await client.ExecAsync(new AgentExecRequest(["cat"]) { StandardInput = input }, default);

        Assert.Equal(input, result.Stdout);
    }

    [Fact]
    public async Task Binary_stdin_round_trips_byte_for_byte()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var data = new byte[3 * 1024 * 1024 + 17];
        new Random(5).NextBytes(data);

        var echoed = await ExecTestSupport.RoundTripAsync(client, data);

        Assert.True(data.AsSpan().SequenceEqual(echoed), "the bytes cat returned differ from those sent");
    }
}
