using VmPs.Guest.Native;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>Sets the guest's CLOCK_REALTIME to the host's time (a VM has no NTP; after a restore its clock is stale).</summary>
internal static class GuestClock
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    public static async Task SyncAsync(Frame frame, FrameWriter writer, AgentContext context, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ClockSyncMessage);
        if (!context.OwnsMachine)
        {
            throw new GuestException(ErrorCodes.Unsupported, "An agent running outside a VM does not set the clock of the machine it runs on.");
        }

        if (request.UnixTimeNanoseconds <= 0)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"{request.UnixTimeNanoseconds} ns is not a time after the Unix epoch.");
        }

        var before = DateTimeOffset.UtcNow;
        var result = NativeMethods.SetRealtime(request.UnixTimeNanoseconds / NanosecondsPerSecond, request.UnixTimeNanoseconds % NanosecondsPerSecond);
        if (result < 0)
        {
            throw new GuestException(ErrorCodes.ExecFailed, $"Cannot set the clock: {Libc.ErrorText(-result)}.");
        }

        var offset = (before - DateTimeOffset.UnixEpoch).Ticks * 100.0 - request.UnixTimeNanoseconds;
        await writer.WriteJsonAsync(FrameType.ClockSynced, frame.Channel, new ClockSyncedMessage(offset / NanosecondsPerSecond), ProtocolJsonContext.Default.ClockSyncedMessage, cancellationToken).ConfigureAwait(false);
    }
}
