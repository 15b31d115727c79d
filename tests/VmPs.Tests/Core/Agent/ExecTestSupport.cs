using System.Text;
using VmPs.Core.Agent;

namespace VmPs.Tests.Core.Agent;

/// <summary>Exec helpers shared by the agent tests on the host and in a booted VM.</summary>
public static class ExecTestSupport
{
    /// <summary>How long a test waits for output or an exit that should come at once: generous, for a loaded host.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>Sends <paramref name="data"/> through cat in the agent's machine and returns what came back.</summary>
    public static async Task<byte[]> RoundTripAsync(AgentClient client, byte[] data)
    {
        var execution = await client.StartExecAsync(new AgentExecRequest(["cat"]), default);
        var reading = ReadStdoutAsync(execution);
        await execution.WriteStandardInputAsync(data, default);
        await execution.CloseStandardInputAsync(default);
        var echoed = await reading;
        Assert.Equal(0, (await execution.Completion).ExitCode);
        return echoed;
    }

    public static async Task<byte[]> ReadStdoutAsync(AgentExecution execution)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        using var stdout = new MemoryStream();
        await foreach (var chunk in execution.Output.ReadAllAsync(deadline.Token))
        {
            Assert.Equal(AgentOutputStream.Stdout, chunk.Stream);
            stdout.Write(chunk.Data.Span);
        }

        return stdout.ToArray();
    }

    /// <summary>Reads output until it holds <paramref name="marker"/>; fails if the exec ends first or the deadline passes.</summary>
    public static async Task ReadUntilAsync(AgentExecution execution, StringBuilder output, string marker)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!output.ToString().Contains(marker))
        {
            Assert.True(await execution.Output.WaitToReadAsync(deadline.Token), $"the exec ended before printing '{marker}': {output}");
            while (execution.Output.TryRead(out var chunk))
            {
                output.Append(Encoding.UTF8.GetString(chunk.Data.Span));
            }
        }
    }

    public static async Task DrainAsync(AgentExecution execution, StringBuilder output)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        await foreach (var chunk in execution.Output.ReadAllAsync(deadline.Token))
        {
            output.Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }
    }
}
