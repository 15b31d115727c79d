using VmPs.Protocol.Config;

namespace VmPs.Protocol.Messages;

/// <summary>Host to guest: a disk was hot-plugged; mount it (found by serial) at the volume's path.</summary>
public sealed record VolumeMountMessage(GuestVolumeConfig Volume);

/// <summary>The guest's answer: the block device (/dev/vdX) now mounted, or linked, at the path.</summary>
public sealed record VolumeMountedMessage(string Device);

/// <summary>
/// Host to guest: the disk at <see cref="Path"/> is about to be unplugged; unmount it. <see cref="Lazy"/> detaches
/// the mount even while files on it are open (umount2 MNT_DETACH); without it a busy volume is refused.
/// </summary>
public sealed record VolumeUnmountMessage(string Path, bool Lazy);

/// <summary>Error codes of VolumeMount and VolumeUnmount, beside the general <see cref="ErrorCodes"/>.</summary>
public static class VolumeErrorCodes
{
    /// <summary>No disk with the volume's serial appeared in the guest.</summary>
    public const string DiskNotFound = "VolumeDiskNotFound";

    /// <summary>The kernel refused the mount (or unmount), for a reason other than open files.</summary>
    public const string MountFailed = "VolumeMountFailed";

    /// <summary>Files on the volume are open, or a process works in it; the unmount was refused.</summary>
    public const string Busy = "VolumeBusyInGuest";
}
