using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Metadata;

namespace VmPs.Core.Agent;

/// <summary>The agent's MetadataApply request (see <see cref="MetadataApplyMessage"/>).</summary>
public static class AgentMetadataClient
{
    /// <summary>The VM's metadata service answers with <paramref name="metadata"/> from now on.</summary>
    public static async Task ApplyMetadataAsync(this AgentClient client, InstanceMetadata metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new MetadataApplyMessage(metadata), ProtocolJsonContext.Default.MetadataApplyMessage);
        AgentClient.Expect(await client.RequestAsync(FrameType.MetadataApply, payload, cancellationToken).ConfigureAwait(false), FrameType.MetadataApplied);
    }
}
