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
                GrowToDevice(volume.Path, device);
            }
        }

        return writable;
    }

    /// <summary>
    /// Grows a mounted ext4 filesystem online to fill its disk (EXT4_IOC_RESIZE_FS): a volume grown on the host
    /// while its file was qcow2, which resize2fs cannot open, gets its room at the next boot. A no-op when it fits.
    /// </summary>
    private static unsafe void GrowToDevice(string mountPath, string device)
    {
        const ulong getBlockSize = 2; // FIGETBSZ
        const ulong resizeFilesystem = 0x40086610; // EXT4_IOC_RESIZE_FS = _IOW('f', 16, __u64)
        var sectors = long.Parse(File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/size").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var fd = Libc.open(mountPath, Libc.O_RDONLY | Libc.O_DIRECTORY);
        if (fd < 0)
        {
            return;
        }

        try
        {
            int blockSize;
            if (Libc.ioctl(fd, getBlockSize, (nint)(&blockSize)) < 0 || blockSize <= 0)
            {
                return;
            }

            var blocks = (ulong)(sectors * 512 / blockSize);
            if (Libc.ioctl(fd, resizeFilesystem, (nint)(&blocks)) < 0)
            {
                InitLog.Warning(InitLogPhases.Disks, $"growing the filesystem at {mountPath} to its disk failed", Libc.ErrorText(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            Libc.close(fd);
        }
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
