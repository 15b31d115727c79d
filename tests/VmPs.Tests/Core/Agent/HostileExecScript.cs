using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// A hostile agent's answers to ExecStart (what Invoke-VmCommand and Enter-Vm ask): its ExecStarted, output and
/// ExecExit, each as a hostile guest could shape them. Unset answers are what the real agent sends for `true`.
/// </summary>
internal sealed class HostileExecScript : HostileScript
{
    /// <summary>Raw ExecStarted payload instead of a valid one; null sends pid 42.</summary>
    public byte[]? StartedPayload { get; init; }

    /// <summary>Never answer the ExecStart.</summary>
    public bool Silent { get; init; }

    /// <summary>Output to send after ExecStarted: the stream and how many bytes of <see cref="Fill"/>.</summary>
    public FrameType OutputStream { get; init; } = FrameType.Stdout;

    public long OutputBytes { get; init; }

    /// <summary>The byte output is made of ('\n' every 80 bytes unless <see cref="OneLine"/>).</summary>
    public byte Fill { get; init; } = (byte)'x';

    public bool OneLine { get; init; }

    /// <summary>Send output regardless of the host's credit.</summary>
    public bool IgnoreCredit { get; init; }

    /// <summary>Bytes written on the connection after ExecStarted that are not a well-formed frame.</summary>
    public byte[]? RawAfterStart { get; init; }

    /// <summary>Raw ExecExit payload instead of exit code 0.</summary>
    public byte[]? ExitPayload { get; init; }

    /// <summary>Output bytes actually sent (what the host's flow control let through).</summary>
    public long Sent { get; private set; }

    public override async Task OnExecStartAsync(HostileSession session, uint channel, ExecStartMessage request)
    {
        if (Silent)
        {
            return;
        }

        if (StartedPayload is { } started)
        {
            await session.SendAsync(FrameType.ExecStarted, channel, started);
        }
        else
        {
            await session.SendJsonAsync(FrameType.ExecStarted, channel, new ExecStartedMessage(42), ProtocolJsonContext.Default.ExecStartedMessage);
        }

        if (RawAfterStart is { } raw)
        {
            await session.SendRawAsync(raw);
            return;
        }

        var output = new LinesStream(OutputBytes, Fill, OneLine);
        var sending = session.SendContentAsync(OutputStream, channel, output, ExecFlowControl.OutputWindow, IgnoreCredit);
        var killed = WaitForKillAsync(session, channel);
        var first = await Task.WhenAny(sending, killed);
        Sent = output.Position;
        if (first == killed)
        {
            await session.SendJsonAsync(FrameType.ExecExit, channel, new ExecExitMessage(null, 9), ProtocolJsonContext.Default.ExecExitMessage);
            return;
        }

        await sending;
        if (ExitPayload is { } exit)
        {
            await session.SendAsync(FrameType.ExecExit, channel, exit);
        }
        else
        {
            await session.SendJsonAsync(FrameType.ExecExit, channel, new ExecExitMessage(0, null), ProtocolJsonContext.Default.ExecExitMessage);
        }
    }

    private static async Task WaitForKillAsync(HostileSession session, uint channel)
    {
        while (!session.Signals.Any(signal => signal.Channel == channel && signal.Signal.Signal == 9))
        {
            await Task.Delay(20, session.Ended);
        }
    }

    /// <summary>Output generated as it is read, so 200 MiB of it costs the double no memory either.</summary>
    private sealed class LinesStream(long length, byte fill, bool oneLine) : GeneratedStream(length)
    {
        protected override void Generate(Span<byte> buffer, long offset)
        {
            for (var index = 0; index < buffer.Length; index++)
            {
                buffer[index] = !oneLine && (offset + index) % 80 == 79 ? (byte)'\n' : fill;
            }
        }
    }
}
