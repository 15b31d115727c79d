using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>The agent's network reconfigure request.</summary>
public static class AgentNetworkClient
{
    /// <summary>
    /// Replaces the guest's address, default route, DNS servers and MTU on the interface with
    /// <see cref="GuestNetworkConfig.MacAddress"/>, and returns that interface's name in the guest.
    /// Errors: GuestNetworkInterfaceNotFound, GuestNetworkConfigureFailed, GuestBadRequest.
    /// </summary>
    public static async Task<string> ConfigureNetworkAsync(this AgentClient client, GuestNetworkConfig network, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(network);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new NetworkConfigureMessage(network), ProtocolJsonContext.Default.NetworkConfigureMessage);
        var reply = await client.RequestAsync(FrameType.NetworkConfigure, payload, cancellationToken).ConfigureAwait(false);
        return AgentClient.Parse(AgentClient.Expect(reply, FrameType.NetworkConfigured), ProtocolJsonContext.Default.NetworkConfiguredMessage).Interface;
    }
}
