using System.Text;
using VmPs.Core.Agent;

namespace VmPs.Core.Vms;

/// <summary>Keeps an exec's whole stdout and stderr, for the buffered <see cref="VmCommandResult"/>.</summary>
internal sealed class VmOutputCollector
{
    private readonly MemoryStream stdout = new();
    private readonly MemoryStream stderr = new();

    public void Add(AgentOutputChunk chunk) =>
        (chunk.Stream == AgentOutputStream.Stdout ? stdout : stderr).Write(chunk.Data.Span);

    public VmCommandResult ToResult(VmExecution execution, VmExecExit exit)
    {
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(exit);
        return new VmCommandResult
        {
            VmName = execution.VmName,
            Command = execution.Command,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            Stdout = Decode(stdout),
            Stderr = Decode(stderr),
            Duration = exit.Duration,
        };
    }

    private static string Decode(MemoryStream bytes) => Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
}
