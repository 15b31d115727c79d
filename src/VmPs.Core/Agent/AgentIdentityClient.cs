using System.Security.Cryptography;
using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>What a restored guest must become: its own name, machine-id and network, whatever memory it came back from.</summary>
public sealed record GuestIdentity(string Hostname, string MachineId, GuestNetworkConfig? Network, string? PreviousMacAddress);

/// <summary>The agent's IdentityApply request (see <see cref="IdentityApplyMessage"/>).</summary>
public static class AgentIdentityClient
{
    private const int EntropyBytes = 64;

    /// <summary>
    /// Sets the guest's hostname and machine-id, reseeds its RNG with fresh host randomness and, with a network, moves
    /// the interface to the identity's MAC and address. Returns the interface configured, or null.
    /// </summary>
    public static async Task<string?> ApplyIdentityAsync(this AgentClient client, GuestIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(identity);
        var message = new IdentityApplyMessage(
            identity.Hostname,
            identity.MachineId,
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(EntropyBytes)),
            identity.PreviousMacAddress,
            identity.Network);
        var payload = JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.IdentityApplyMessage);
        var reply = await client.RequestAsync(FrameType.IdentityApply, payload, cancellationToken).ConfigureAwait(false);
        return AgentClient.Parse(AgentClient.Expect(reply, FrameType.IdentityApplied), ProtocolJsonContext.Default.IdentityAppliedMessage).Interface;
    }
}
