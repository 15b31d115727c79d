using System.Text.Json;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>The agent's requests for volumes hot-plugged into a running VM.</summary>
public static class AgentVolumeClient
{
    /// <summary>
    /// Mounts the hot-plugged disk with the volume's serial at its path once the guest sees it; returns the guest's
    /// device. Errors: GuestVolumeDiskNotFound, GuestVolumeMountFailed, GuestBadRequest.
    /// </summary>
    public static async Task<string> MountVolumeAsync(this AgentClient client, GuestVolumeConfig volume, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new VolumeMountMessage(volume), ProtocolJsonContext.Default.VolumeMountMessage);
        var reply = await client.RequestAsync(FrameType.VolumeMount, payload, cancellationToken).ConfigureAwait(false);
        return AgentClient.Parse(AgentClient.Expect(reply, FrameType.VolumeMounted), ProtocolJsonContext.Default.VolumeMountedMessage).Device;
    }

    /// <summary>
    /// Unmounts the volume at <paramref name="path"/>; <paramref name="lazy"/> detaches it even with files open.
    /// Errors: GuestVolumeBusy (files open, not lazy), GuestVolumeMountFailed, GuestBadRequest.
    /// </summary>
    public static async Task UnmountVolumeAsync(this AgentClient client, string path, bool lazy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new VolumeUnmountMessage(path, lazy), ProtocolJsonContext.Default.VolumeUnmountMessage);
        AgentClient.Expect(await client.RequestAsync(FrameType.VolumeUnmount, payload, cancellationToken).ConfigureAwait(false), FrameType.VolumeUnmounted);
    }
}
