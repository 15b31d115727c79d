using VmPs.Guest.Native;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Init;

/// <summary>Builds the VM's root (read-only image below, ext4 overlay disk above) and switches into it.</summary>
internal static class RootFilesystem
{
    private const string Lower = "/vmps/lower";
    private const string OverlayDisk = "/vmps/overlay";
    private const string NewRoot = "/newroot";

    /// <summary>_IOWR('X', 119, int): flushes the journal and marks ext4 clean on disk.</summary>
    private const ulong FreezeFilesystem = 0xC0045877;

    /// <summary>Mounts the overlay at the new root; returns an fd on the overlay disk for <see cref="FreezeOverlayDisk"/>.</summary>
    public static int MountOverlay(string rootfsDevice, string overlayDevice, string rootfsFilesystem)
    {
        var options = rootfsFilesystem switch
        {
            RootfsFilesystems.Erofs => null,
            RootfsFilesystems.Ext4 => "noload",
            _ => throw new InitException($"Rootfs filesystem '{rootfsFilesystem}' is not supported; use erofs or ext4."),
        };
        SystemCalls.Mount(rootfsDevice, Lower, rootfsFilesystem, Libc.MS_RDONLY, options);
        SystemCalls.Mount(overlayDevice, OverlayDisk, "ext4");
        GuestVolumes.GrowToDevice(OverlayDisk, overlayDevice);
        Directory.CreateDirectory($"{OverlayDisk}/upper");
        Directory.CreateDirectory($"{OverlayDisk}/work");
        SystemCalls.Mount("overlay", NewRoot, "overlay", 0, $"lowerdir={Lower},upperdir={OverlayDisk}/upper,workdir={OverlayDisk}/work");
        var overlayDiskFd = Libc.open(OverlayDisk, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        SystemCalls.Check(overlayDiskFd, $"opening {OverlayDisk}");
        return overlayDiskFd;
    }

    /// <summary>
    /// Leaves the overlay disk consistent and clean before power off. It cannot be unmounted: after the
    /// switch it is only reachable through the fd kept from <see cref="MountOverlay"/>.
    /// </summary>
    public static void FreezeOverlayDisk(int overlayDiskFd)
    {
        if (Libc.ioctl(overlayDiskFd, FreezeFilesystem, 0) < 0)
        {
            InitLog.Warning(InitLogPhases.Poweroff, "freezing the overlay disk failed", Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()));
        }
    }

    /// <summary>
    /// Moves /dev, /proc and /sys into the new root, frees the initramfs' big files and makes the new
    /// root "/" (the initramfs cannot be unmounted; it stays underneath, unreachable).
    /// </summary>
    public static void SwitchRoot()
    {
        foreach (var mount in new[] { "/dev", "/proc", "/sys" })
        {
            SystemCalls.Mount(mount, NewRoot + mount, null, Libc.MS_MOVE);
        }

        File.Delete("/init");
        if (Directory.Exists(KernelModules.Directory))
        {
            Directory.Delete(KernelModules.Directory, recursive: true);
        }

        SystemCalls.Check(Libc.chdir(NewRoot), $"chdir {NewRoot}");
        SystemCalls.Check(Libc.mount(NewRoot, "/", null, Libc.MS_MOVE, null), "moving the new root to /");
        SystemCalls.Check(Libc.chroot("."), "chroot into the new root");
        SystemCalls.Check(Libc.chdir("/"), "chdir /");
    }

    /// <summary>The API filesystems every program expects, mounted in the final root.</summary>
    public static void MountRuntimeFilesystems()
    {
        SystemCalls.Mount("devpts", "/dev/pts", "devpts", Libc.MS_NOSUID | Libc.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
        SystemCalls.Mount("shm", "/dev/shm", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=1777");
        SystemCalls.Mount("tmpfs", "/run", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=755");
        SystemCalls.Mount("tmpfs", "/tmp", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=1777");
        foreach (var (link, target) in new[] { ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"), ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2") })
        {
            if (!Path.Exists(link))
            {
                File.CreateSymbolicLink(link, target);
            }
        }
    }
}
