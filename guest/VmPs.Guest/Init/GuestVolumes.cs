using System.Runtime.InteropServices;
using VmPs.Guest.Native;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>
/// Mounts the VM's volumes, found by disk serial, at their paths in the final root before anything else runs there
/// (the agent, the image's command or systemd); unmounts the writable ones at power off so they are left clean.
/// </summary>
internal static class GuestVolumes
{
    /// <summary>Mounts each volume (an ext4 volume at its path, read-only without journal replay when attached read-only; a raw one linked there); returns the writable mounts.</summary>
    public static IReadOnlyList<string> Mount(IReadOnlyList<GuestVolumeConfig> volumes, IReadOnlyDictionary<string, string> disks)
    {
        var writable = new List<string>();
        foreach (var volume in volumes)
        {
            if (!volume.Path.StartsWith('/') || volume.Path.Split('/').Any(component => component is "." or ".."))
            {
                throw new InitException($"Volume mount path '{volume.Path}' is not an absolute normalised path.");
            }

            var device = disks[volume.Serial];
            if (volume.Filesystem is null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(volume.Path)!);
                File.CreateSymbolicLink(volume.Path, device);
                InitLog.Info(InitLogPhases.Disks, $"linked raw volume {device} at {volume.Path}");
                continue;
            }

            var flags = volume.ReadOnly ? Libc.MS_RDONLY : 0;
            SystemCalls.Mount(device, volume.Path, volume.Filesystem, flags, volume.ReadOnly ? "noload" : null);
            InitLog.Info(InitLogPhases.Disks, $"mounted volume {device} ({volume.Filesystem}{(volume.ReadOnly ? ", read-only" : "")}) at {volume.Path}");
            if (!volume.ReadOnly)
            {
                writable.Add(volume.Path);
            }
        }

        return writable;
    }

    /// <summary>Unmounts in reverse order, after every process is gone; a mount still busy is synced and left (logged).</summary>
    public static void Unmount(IReadOnlyList<string> mounts)
    {
        foreach (var path in mounts.Reverse())
        {
            if (Libc.umount2(path, 0) < 0)
            {
                InitLog.Warning(InitLogPhases.Poweroff, $"unmounting the volume at {path} failed", Libc.ErrorText(Marshal.GetLastPInvokeError()));
            }
        }
    }
}
