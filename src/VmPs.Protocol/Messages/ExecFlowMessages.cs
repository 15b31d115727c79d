using System.Text.Json.Serialization;

namespace VmPs.Protocol.Messages;

/// <summary>A terminal's window size in character cells.</summary>
public sealed record TerminalSizeMessage(int Columns, int Rows)
{
    public static TerminalSizeMessage Default { get; } = new(80, 24);

    /// <summary>The kernel keeps window sizes as unsigned 16-bit values.</summary>
    [JsonIgnore]
    public bool IsValid => Columns is > 0 and <= ushort.MaxValue && Rows is > 0 and <= ushort.MaxValue;
}

/// <summary>
/// Returns flow-control credit for one exec channel: the receiver may send this many more bytes of
/// output (OutputCredit) or stdin (StdinCredit). See <see cref="ExecFlowControl"/>.
/// </summary>
public sealed record CreditMessage(int Bytes);

/// <summary>The host's UTC time when it sent the request, in nanoseconds since the Unix epoch.</summary>
public sealed record ClockSyncMessage(long UnixTimeNanoseconds);

/// <summary>How far the guest clock was off before it was set: guest minus host, in seconds.</summary>
public sealed record ClockSyncedMessage(double OffsetSeconds);

/// <summary>
/// The per-channel windows both ends start with. A sender never has more than this many bytes of a
/// stream unacknowledged, so neither end buffers more than a window per exec however slow the other is.
/// </summary>
public static class ExecFlowControl
{
    /// <summary>Bytes of stdout+stderr the agent may send on a channel before the host returns credit.</summary>
    public const int OutputWindow = 1024 * 1024;

    /// <summary>Bytes of stdin the host may send on a channel before the agent returns credit.</summary>
    public const int StdinWindow = 1024 * 1024;
}
