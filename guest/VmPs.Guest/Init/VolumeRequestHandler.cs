using VmPs.Guest.Agent;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Systemd;

namespace VmPs.Guest.Init;

/// <summary>
/// Serves the agent's VolumeMount and VolumeUnmount requests for disks hot-plugged into (or out of) the running VM;
/// under systemd the volume's runtime mount unit comes and goes with the mount.
/// </summary>
internal static class VolumeRequestHandler
{
    /// <summary>How long a hot-plugged disk may take to appear: the guest's PCI hotplug under TCG takes a few seconds.</summary>
    private static readonly TimeSpan DiskTimeout = TimeSpan.FromSeconds(20);

    public static async Task MountAsync(Frame frame, FrameWriter writer, AgentContext context, CancellationToken cancellationToken)
    {
        var volume = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.VolumeMountMessage).Volume;
        if (GuestVolumes.PathProblem(volume.Path) is { } problem)
        {
            throw new GuestException(ErrorCodes.BadRequest, problem);
        }

        var device = await Task.Run(
            () =>
            {
                string found;
                try
                {
                    found = BlockDevices.WaitForSerials([volume.Serial], DiskTimeout)[volume.Serial];
                }
                catch (InitException error)
                {
                    throw new GuestException(VolumeErrorCodes.DiskNotFound, error.Message);
                }

                try
                {
                    GuestVolumes.MountOne(volume, found);
                }
                catch (Exception error) when (error is InitException or IOException or UnauthorizedAccessException)
                {
                    throw new GuestException(VolumeErrorCodes.MountFailed, error.Message);
                }

                if (context.WritesMountUnits && volume.Filesystem is not null)
                {
                    SystemdMountUnits.AddAtRunTime(SystemdMountUnit.ForVolume(volume, found), volume.Path, context.Children, context.BaseEnvironment);
                }

                return found;
            },
            cancellationToken).ConfigureAwait(false);
        await writer.WriteJsonAsync(FrameType.VolumeMounted, frame.Channel, new VolumeMountedMessage(device), ProtocolJsonContext.Default.VolumeMountedMessage, cancellationToken)
            .ConfigureAwait(false);
    }

    public static async Task UnmountAsync(Frame frame, FrameWriter writer, AgentContext context, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.VolumeUnmountMessage);
        try
        {
            GuestVolumes.UnmountOne(request.Path, request.Lazy);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new GuestException(VolumeErrorCodes.MountFailed, error.Message);
        }

        if (context.WritesMountUnits)
        {
            SystemdMountUnits.RemoveAtRunTime(request.Path, context.Children, context.BaseEnvironment);
        }

        await writer.WriteAsync(FrameType.VolumeUnmounted, frame.Channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
    }
}
