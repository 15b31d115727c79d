using VmPs.Protocol;
using VmPs.Protocol.Framing;

namespace VmPs.Core.Agent;

/// <summary>The agent's CpusOnline request (see <see cref="FrameType.CpusOnline"/>).</summary>
public static class AgentCpuClient
{
    /// <summary>Brings the vCPUs the hypervisor hot-added online in the guest; returns how many are online.</summary>
    public static async Task<int> OnlineCpusAsync(this AgentClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var reply = await client.RequestAsync(FrameType.CpusOnline, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        return AgentClient.Parse(AgentClient.Expect(reply, FrameType.CpusOnlined), ProtocolJsonContext.Default.CpusOnlinedMessage).Online;
    }
}
