using VmPs.Core;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Processes;

public sealed class ExternalToolTests
{
    [Fact]
    public async Task A_tool_past_its_timeout_is_killed_with_what_it_started_and_the_error_says_so()
    {
        using var scratch = new ScratchDirectory();
        var pidFile = scratch.Combine("pid");

        var error = await Assert.ThrowsAsync<VmPsException>(() => ExternalTool.RunAsync(
            "sh", ["-c", $"sleep 600 & echo $! > {pidFile}; wait"], CancellationToken.None, timeout: TimeSpan.FromSeconds(10)));

        Assert.Equal("ExternalToolTimedOut", error.ErrorId);
        Assert.Equal(VmPsErrorKind.OperationTimeout, error.Kind);
        var sleeper = int.Parse(File.ReadAllText(pidFile).Trim());
        Assert.True(await ExitsWithinAsync(sleeper, TimeSpan.FromMinutes(1)), "the tool's child survived the kill");
    }

    [Fact]
    public async Task Cancellation_is_not_reported_as_a_timeout()
    {
        using var cancel = new CancellationTokenSource();
        var running = ExternalTool.RunAsync("sleep", ["600"], cancel.Token, timeout: TimeSpan.FromMinutes(10));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_tool_within_its_timeout_returns_its_output()
    {
        var result = await ExternalTool.RunAsync("sh", ["-c", "echo out; echo err >&2; exit 3"], CancellationToken.None, timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(new ToolResult(3, "out\n", "err\n"), result);
    }

    private static async Task<bool> ExitsWithinAsync(int pid, TimeSpan deadline)
    {
        using var patience = new CancellationTokenSource(deadline);
        while (!patience.IsCancellationRequested)
        {
            if (!File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z")
            {
                return true;
            }

            await Task.Delay(50, CancellationToken.None);
        }

        return false;
    }
}
