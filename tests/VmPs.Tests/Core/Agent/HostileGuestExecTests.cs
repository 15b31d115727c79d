using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.Protocol.Framing;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// Invoke-VmCommand's code path (VmManager.ExecAsync and StartExecAsync against a VM row, through the shared agent
/// connection) with a hostile agent speaking the real protocol: every malformed or oversized reply ends in a
/// specific error, and no reply makes the host hold more than its documented limits.
/// </summary>
public sealed class HostileGuestExecTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    private sealed record HostileCase(string Name, HostileExecScript Script, Func<VmManager, Task> Drive, params string[] RefusedWith);

    [Fact]
    public async Task Every_hostile_exec_reply_is_refused_with_a_specific_error()
    {
        var failures = new List<string>();
        var cases = Cases().ToList();
        foreach (var hostile in cases)
        {
            await using var vm = await HostileVm.StartAsync(hostile.Script);
            try
            {
                await hostile.Drive(vm.Manager).WaitAsync(HangGuard);
                failures.Add($"{hostile.Name}: accepted");
            }
            catch (VmPsException error) when (hostile.RefusedWith.Contains(error.ErrorId))
            {
                output.WriteLine($"refused  {hostile.Name}: {error.ErrorId}: {error.Message} (the double sent {hostile.Script.Sent} output bytes)");
            }
            catch (Exception error)
            {
                failures.Add($"{hostile.Name}: {error.GetType().Name} {(error as VmPsException)?.ErrorId} {error.Message}");
            }
        }

        output.WriteLine($"Hostile guest exec replies: {cases.Count} tried, {cases.Count - failures.Count} refused with a specific error.");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task A_command_printing_200_MiB_is_stopped_at_the_limit_of_a_buffered_result()
    {
        var script = new HostileExecScript { OutputBytes = 200L * 1024 * 1024 };
        await using var vm = await HostileVm.StartAsync(script);

        var error = await Assert.ThrowsAsync<VmPsException>(() => vm.Manager.ExecAsync(HostileVm.Name, new VmExecOptions { Command = ["yes"] }, default).WaitAsync(HangGuard));

        Assert.Equal(("GuestOutputTooLarge", VmPsErrorKind.LimitsExceeded), (error.ErrorId, error.Kind));
        Assert.Contains("-Stream", error.RecommendedAction);
        // The host read no more than the limit plus what flow control lets the guest send ahead of it.
        Assert.InRange(script.Sent, AgentOutputBuffer.DefaultMaxBytesPerStream, AgentOutputBuffer.DefaultMaxBytesPerStream + (2 * ExecFlowControlWindow));
        output.WriteLine($"The double sent {script.Sent} bytes before the host stopped the command.");
    }

    [Fact]
    public async Task Streamed_output_of_any_size_arrives_line_by_line_with_endless_lines_in_pieces()
    {
        var script = new HostileExecScript { OutputBytes = 5L * OutputLineSplitter.MaxLineChars + 7, OneLine = true };
        await using var vm = await HostileVm.StartAsync(script);
        await using var execution = await vm.Manager.StartExecAsync(HostileVm.Name, new VmExecOptions { Command = ["yes"] }, default);
        var pieces = new List<int>();

        await foreach (var line in execution.ReadLinesAsync(default).WithCancellation(default))
        {
            pieces.Add(line.Text.Length);
        }

        Assert.Equal([.. Enumerable.Repeat(OutputLineSplitter.MaxLineChars, 5), 7], pieces);
        Assert.Equal(0, (await execution.WaitForExitAsync(default)).ExitCode);
    }

    [Fact]
    public async Task Silence_instead_of_ExecStarted_is_AgentNotResponding()
    {
        await using var agent = new HostileAgent(new HostileExecScript { Silent = true });
        await using var client = await AgentClient.ConnectAsync(agent.Connector, TimeSpan.FromSeconds(2), default);

        var error = await Assert.ThrowsAsync<VmPsException>(() => client.StartExecAsync(new AgentExecRequest(["true"]), default).WaitAsync(HangGuard));

        Assert.Equal("AgentNotResponding", error.ErrorId);
    }

    private const int ExecFlowControlWindow = VmPs.Protocol.Messages.ExecFlowControl.OutputWindow;

    private static IEnumerable<HostileCase> Cases()
    {
        Func<VmManager, Task> exec = manager => manager.ExecAsync(HostileVm.Name, new VmExecOptions { Command = ["true"] }, default);
        Func<VmManager, Task> execSmallLimit = manager => manager.ExecAsync(HostileVm.Name, new VmExecOptions { Command = ["true"], MaxOutputBytes = 1024 * 1024 }, default);

        // A caller that has not read the output yet: whatever the guest sends beyond the window is a breach.
        Func<VmManager, Task> startAndWait = async manager =>
        {
            await using var execution = await manager.StartExecAsync(HostileVm.Name, new VmExecOptions { Command = ["true"] }, default);
            await execution.WaitForExitAsync(default);
        };

        yield return new("200 MiB on stdout", new() { OutputBytes = 200L * 1024 * 1024 }, exec, "GuestOutputTooLarge");
        yield return new("stderr past -MaxOutputBytes", new() { OutputStream = FrameType.Stderr, OutputBytes = 3 * 1024 * 1024 }, execSmallLimit, "GuestOutputTooLarge");
        yield return new("stdout beyond the credit window", new() { OutputBytes = 8L * 1024 * 1024, IgnoreCredit = true }, startAndWait, "AgentProtocolError");
        yield return new("stderr beyond the credit window", new() { OutputStream = FrameType.Stderr, OutputBytes = 8L * 1024 * 1024, IgnoreCredit = true }, startAndWait, "AgentProtocolError");
        yield return new("an ExecStarted that is not JSON", new() { StartedPayload = "{pid:"u8.ToArray() }, exec, "AgentProtocolError");
        yield return new("an ExecStarted of 1 MiB", new() { StartedPayload = new byte[1024 * 1024] }, exec, "AgentProtocolError");
        yield return new("an ExecExit that is not JSON", new() { ExitPayload = "[]"u8.ToArray() }, exec, "AgentProtocolError");
        yield return new("a frame header claiming 2 GiB", new() { RawAfterStart = [(byte)'V', (byte)'P', (byte)FrameType.Stdout, 0, 0, 0, 0, 1, 0x80, 0, 0, 0] }, exec, "AgentProtocolError");
        yield return new("bytes that are not frames", new() { RawAfterStart = "HTTP/1.1 200 OK\r\n\r\n"u8.ToArray() }, exec, "AgentProtocolError", "AgentConnectionLost");
    }
}
