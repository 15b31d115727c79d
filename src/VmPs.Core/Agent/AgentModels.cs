using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>
/// The agent's answer to a ping. The memory figures are the guest's own claim (null from agents that send none):
/// hostile until validated (see <see cref="Metering.GuestMemoryView"/>).
/// </summary>
public sealed record AgentPong(string AgentVersion, TimeSpan Uptime, TimeSpan RoundTrip)
{
    public long? MemoryTotalBytes { get; init; }

    public long? MemoryAvailableBytes { get; init; }
}

/// <summary>A command to run in the guest.</summary>
public sealed record AgentExecRequest(IReadOnlyList<string> Argv)
{
    /// <summary>Variables added to (or replacing those of) the guest's base environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Defaults to the image's working directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>"name", "uid", "name:group" or "uid:gid"; defaults to root.</summary>
    public string? User { get; init; }

    /// <summary>Text written to the command's stdin, which is then closed (stdin is closed at once when null).</summary>
    public string? StandardInput { get; init; }

    /// <summary>
    /// Counted from the start request: after this the command and everything it started are killed and the exec
    /// fails with ErrorId AgentExecTimeout.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// For a buffered result (<see cref="AgentExecution.ReadToEndAsync"/>): the most stdout (and stderr) bytes kept;
    /// past it the command is killed (GuestOutputTooLarge). Streaming readers of the output are not limited.
    /// </summary>
    public long MaxOutputBytes { get; init; } = AgentOutputBuffer.DefaultMaxBytesPerStream;

    /// <summary>The VM the command runs in, named by the errors about it (timeout, output too large).</summary>
    internal string? VmName { get; init; }

    /// <summary>Run on a pseudo-terminal (controlling terminal and fds 0-2); output then arrives as Stdout only.</summary>
    public bool Tty { get; init; }

    /// <summary>The terminal's initial size with <see cref="Tty"/>; 80x24 when null.</summary>
    public AgentTerminalSize? TerminalSize { get; init; }
}

/// <summary>A terminal window size in character cells.</summary>
public sealed record AgentTerminalSize(int Columns, int Rows)
{
    internal static TerminalSizeMessage Validate(int columns, int rows)
    {
        var size = new TerminalSizeMessage(columns, rows);
        return size.IsValid
            ? size
            : throw new VmPsException(VmPsErrorIds.InvalidTerminalSize, VmPsErrorKind.InvalidArgument, $"A terminal of {columns}x{rows} is not possible: columns and rows must be 1-65535.", $"{columns}x{rows}");
    }
}

/// <summary>The outcome of <see cref="AgentClient.SyncClockAsync"/>: how far the guest clock was off (guest minus host) before it was set.</summary>
public sealed record AgentClockSync(TimeSpan Offset);

/// <summary>How a guest process ended: <see cref="ExitCode"/> follows the shell convention (128 + signal when killed).</summary>
public sealed record AgentExitStatus(int ExitCode, int? Signal);

/// <summary>The buffered outcome of <see cref="AgentClient.ExecAsync"/>.</summary>
public sealed record AgentExecResult(int ExitCode, int? Signal, string Stdout, string Stderr, TimeSpan Duration);

public enum AgentOutputStream
{
    Stdout,
    Stderr,
}

/// <summary>A piece of an exec's output, in the order the guest read it from each pipe.</summary>
public readonly record struct AgentOutputChunk(AgentOutputStream Stream, ReadOnlyMemory<byte> Data);
