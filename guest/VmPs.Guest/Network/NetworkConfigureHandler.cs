using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Network;

/// <summary>Serves the agent's NetworkConfigure request: applies the new setup, then acknowledges with the interface's name.</summary>
internal static class NetworkConfigureHandler
{
    public static async Task HandleAsync(Frame frame, FrameWriter writer, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.NetworkConfigureMessage);
        var interfaceName = GuestNetwork.Reconfigure(request.Network);
        await writer.WriteJsonAsync(
            FrameType.NetworkConfigured,
            frame.Channel,
            new NetworkConfiguredMessage(interfaceName),
            ProtocolJsonContext.Default.NetworkConfiguredMessage,
            cancellationToken).ConfigureAwait(false);
    }
}
