using System.Runtime.InteropServices;
using VmPs.Guest.Native;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Init;

/// <summary>
/// Mounts the VM's volumes, found by disk serial, at their paths in the final root: at boot before anything else
/// runs there (the agent, the image's command or systemd), and later for disks hot-plugged into the running VM.
/// Unmounts a volume before its disk is unplugged, and the writable ones at power off so they are left clean.
/// </summary>
internal static class GuestVolumes
{
    private static readonly string[] ReservedPaths = ["/proc", "/sys", "/dev"];
    private static readonly List<string> WritableMounts = [];

    /// <summary>Mounts each boot volume on its disk.</summary>
    public static void Mount(IReadOnlyList<GuestVolumeConfig> volumes, IReadOnlyDictionary<string, string> disks)
    {
        foreach (var volume in volumes)
        {
            MountOne(volume, disks[volume.Serial]);
        }
    }

    /// <summary>
    /// Mounts one volume: an ext4 volume at its path (read-only without journal replay when attached read-only), a
    /// raw one linked there. A writable one is grown to its disk and remembered for the unmount at power off.
    /// </summary>
    public static void MountOne(GuestVolumeConfig volume, string device)
    {
        if (PathProblem(volume.Path) is { } problem)
        {
            throw new InitException(problem);
        }

        if (volume.Filesystem is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(volume.Path)!);
            File.CreateSymbolicLink(volume.Path, device);
            InitLog.Info(InitLogPhases.Disks, $"linked raw volume {device} at {volume.Path}");
            return;
        }

        var flags = volume.ReadOnly ? Libc.MS_RDONLY : 0;
        SystemCalls.Mount(device, volume.Path, volume.Filesystem, flags, volume.ReadOnly ? "noload" : null);
        InitLog.Info(InitLogPhases.Disks, $"mounted volume {device} ({volume.Filesystem}{(volume.ReadOnly ? ", read-only" : "")}) at {volume.Path}");
        if (!volume.ReadOnly)
        {
            lock (WritableMounts)
            {
                WritableMounts.Add(volume.Path);
            }

            GrowToDevice(volume.Path, device);
        }
    }

    /// <summary>
    /// Unmounts the volume at <paramref name="path"/> (a raw volume's link is removed). A path where nothing is
    /// mounted counts as done, so a host repeating an interrupted detach succeeds. Throws
    /// <see cref="GuestException"/> with <see cref="VolumeErrorCodes.Busy"/> while files on it are open, unless
    /// <paramref name="lazy"/>.
    /// </summary>
    public static void UnmountOne(string path, bool lazy)
    {
        if (PathProblem(path) is { } problem)
        {
            throw new GuestException(ErrorCodes.BadRequest, problem);
        }

        if (new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
            InitLog.Info(InitLogPhases.Disks, $"removed the raw volume link at {path}");
            return;
        }

        Libc.sync();
        if (Libc.umount2(path, lazy ? Libc.MNT_DETACH : 0) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            switch (error)
            {
                case Libc.EINVAL or Libc.ENOENT:
                    break;
                case Libc.EBUSY:
                    throw new GuestException(VolumeErrorCodes.Busy, $"The volume at {path} is in use in the guest (open files, or a process working in it).");
                default:
                    throw new GuestException(VolumeErrorCodes.MountFailed, $"Unmounting the volume at {path} failed: {Libc.ErrorText(error)}");
            }
        }

        lock (WritableMounts)
        {
            WritableMounts.Remove(path);
        }

        InitLog.Info(InitLogPhases.Disks, $"unmounted the volume at {path}{(lazy ? " (lazily: files still open on it)" : "")}");
    }

    /// <summary>Unmounts the writable volumes in reverse order, after every process is gone; a mount still busy is synced and left (logged).</summary>
    public static void UnmountAll()
    {
        List<string> mounts;
        lock (WritableMounts)
        {
            mounts = [.. WritableMounts];
        }

        mounts.Reverse();
        foreach (var path in mounts)
        {
            if (Libc.umount2(path, 0) < 0)
            {
                InitLog.Warning(InitLogPhases.Poweroff, $"unmounting the volume at {path} failed", Libc.ErrorText(Marshal.GetLastPInvokeError()));
            }
        }
    }

    /// <summary>
    /// Why the path cannot be a volume's, or null. The host checks mount paths too; the guest refuses to shadow its
    /// root or kernel interfaces whatever it is sent.
    /// </summary>
    public static string? PathProblem(string path)
    {
        if (!path.StartsWith('/') || path.Length == 1 || path.Split('/').Skip(1).Any(component => component is "" or "." or ".."))
        {
            return $"Volume mount path '{path}' is not an absolute normalised path below /.";
        }

        return ReservedPaths.Any(reserved => path == reserved || path.StartsWith(reserved + "/", StringComparison.Ordinal))
            ? $"Volume mount path '{path}' would shadow the guest's /proc, /sys or /dev."
            : null;
    }

    /// <summary>
    /// Grows a mounted ext4 filesystem online to fill its disk (EXT4_IOC_RESIZE_FS): a volume grown on the host
    /// while its file was qcow2, which resize2fs cannot open, gets its room at the next boot (the VM's own qcow2 disk
    /// too). A no-op when it fits.
    /// </summary>
    internal static unsafe void GrowToDevice(string mountPath, string device)
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
}
