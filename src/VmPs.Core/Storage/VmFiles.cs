using VmPs.Core.Hypervisors;
using VmPs.Core.Native;
using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>The files of one VM inside its directory (VmPsPaths.VmDirectory(id)).</summary>
internal sealed class VmFiles
{
    public VmFiles(string directory)
    {
        Directory = directory;
    }

    public const string CreatingMarkerSuffix = ".creating";

    private const string SocketLockSuffix = ".sock.lock";

    public string Directory { get; }

    /// <summary>Beside the directory, made before it: the pid file of the New-Vm session still creating this VM (see VmDirectorySweep).</summary>
    public string CreatingMarker => Directory + CreatingMarkerSuffix;

    /// <summary>vdb, the writable upper layer over the image's read-only rootfs: the file <paramref name="name"/> of the VM's disk chain (VmRecord.DiskFileName).</summary>
    public string Disk(string name) => Path.Combine(Directory, name);

    /// <summary>The file New-Vm makes for the VM's disk, in its container format.</summary>
    public static string OverlayDiskName(DiskImageFormat format) => format == DiskImageFormat.Qcow2 ? "overlay.qcow2" : "overlay.ext4";

    /// <summary>vdc: the guest config, rewritten at every start.</summary>
    /// <summary>Held while the VM's disk is resized and while Start-Vm claims the VM, so neither happens during the other.</summary>
    public string DiskLock => Path.Combine(Directory, "disk.lock");

    public string ConfigDisk => Path.Combine(Directory, "config.img");

    /// <summary>Held by the one Enter-Vm -Console session attached to the VM's serial console.</summary>
    public string ConsoleLock => Path.Combine(Directory, "console.lock");

    /// <summary>A UEFI VM's own variable store (boot entries), a private copy of the firmware's template.</summary>
    public string FirmwareVariables => Path.Combine(Directory, "efivars.fd");

    /// <summary>New-Vm -UserData and -SshPublicKey (see VmUserData); absent when the VM was given neither.</summary>
    public string UserData => Path.Combine(Directory, "user-data.json");

    /// <summary>A disk image VM's cloud-init NoCloud seed (label cidata), rewritten at every start.</summary>
    public string SeedDisk => Path.Combine(Directory, "seed.iso");

    public string ConsoleLog => Path.Combine(Directory, "console.log");

    public string HypervisorLog => Path.Combine(Directory, "hypervisor.log");

    /// <summary>The image command's stdout and stderr (the guest's virtio console).</summary>
    public string AppLog => Path.Combine(Directory, "app.log");

    /// <summary>The launch settings of the hypervisor now running (JSON), which a saved state must be restored with.</summary>
    public string LaunchSpec => Path.Combine(Directory, "launch.json");

    /// <summary>Save-Vm's memory and device state with its manifest; present only while the VM is Saved.</summary>
    public string SavedState => Path.Combine(Directory, "saved");

    /// <summary>A saved state being written; it becomes <see cref="SavedState"/> only once complete.</summary>
    public string SavedStatePartial => Path.Combine(Directory, "saved.partial");

    /// <summary>The VM's checkpoints, one directory each (Checkpoint-Vm); removed with the VM.</summary>
    public string Checkpoints => Path.Combine(Directory, "checkpoints");

    /// <summary>The hypervisor process as its launcher recorded it (see PidFile), until the VM stops.</summary>
    public string HypervisorPidFile => Path.Combine(Directory, Hypervisors.VmLaunchSpec.PidFileName);

    /// <summary>
    /// Removes what a stopped hypervisor left behind: its shares' virtiofsd (see VirtioFsDaemons), its log keeper, once it has copied the last output (see
    /// VmLogKeeper), with its pipes; its Unix sockets (control, agent, vsock listeners), their locks (the agent port's,
    /// taken by whoever waited for the agent), its pid file and a QEMU VM's RAM file (see QemuGuestMemory).
    /// </summary>
    public void DeleteRuntimeFiles()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        Shares.VirtioFsDaemons.End(Directory);
        Logs.VmLogKeeper.End(Directory);
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory).Where(UnixFileType.IsSocket))
        {
            File.Delete(path);
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + SocketLockSuffix))
        {
            FileLock.DeleteIfFree(path);
        }

        File.Delete(HypervisorPidFile);
        Hypervisors.Qemu.QemuGuestMemory.DeleteRunningFile(Directory);
    }
}

/// <summary>File facts .NET does not expose: the type (it reports sockets as plain files) and the space a sparse file takes.</summary>
internal static unsafe class UnixFileType
{
    private const uint TypeMask = 0xF000;
    private const uint Socket = 0xC000;

    // struct stat on x86_64: st_dev (8), st_ino (8), st_nlink (8), then st_mode (4); 144 bytes in all.
    private const int StatSize = 144;
    private const int InodeOffset = 8;
    private const int ModeOffset = 24;
    private const int BlocksOffset = 64;
    private const int BlockBytes = 512;

    public static bool IsSocket(string path)
    {
        var buffer = new byte[StatSize];
        return Libc.lstat(path, buffer) == 0 && (BitConverter.ToUInt32(buffer, ModeOffset) & TypeMask) == Socket;
    }

    /// <summary>The inode <paramref name="path"/> names (following links); null when there is none.</summary>
    public static ulong? Inode(string path)
    {
        var buffer = new byte[StatSize];
        fixed (byte* pointer = buffer)
        {
            return Libc.stat(path, pointer) == 0 ? BitConverter.ToUInt64(buffer, InodeOffset) : null;
        }
    }

    /// <summary>The inode of an open file.</summary>
    public static ulong? Inode(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        var buffer = new byte[StatSize];
        return Libc.fstat((int)file.DangerousGetHandle(), buffer) == 0 ? BitConverter.ToUInt64(buffer, InodeOffset) : null;
    }

    /// <summary>The bytes the file's blocks take on disk (st_blocks), far less than its length when it has holes; 0 when it is gone.</summary>
    public static long AllocatedBytes(string path)
    {
        var buffer = new byte[StatSize];
        return Libc.lstat(path, buffer) == 0 ? BitConverter.ToInt64(buffer, BlocksOffset) * BlockBytes : 0;
    }
}
