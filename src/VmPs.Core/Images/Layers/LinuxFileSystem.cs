using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Images.Layers;

/// <summary>The file type bits of a mode, as statx reports them.</summary>
internal enum LinuxFileType
{
    Missing,
    Directory,
    RegularFile,
    SymbolicLink,
    Other,
}

/// <summary>What statx tells about an entry, as much as extraction and the device-node table need.</summary>
internal readonly record struct FileStatus(ulong Inode, LinuxFileType Type, UnixFileMode Permissions, long Size, uint Links);

/// <summary>
/// The directory-relative (*at) libc calls layer extraction needs, so every path is resolved against a
/// directory descriptor the extractor opened itself and a final component is never followed.
/// Failures throw <see cref="IOException"/> with the errno text; callers add the layer and entry.
/// </summary>
internal static class LinuxFileSystem
{
    public const int AtFdCwd = -100;
    private const int OpenReadOnly = 0;
    private const int OpenWriteOnly = 1;
    private const int OpenCreate = 0x40;
    private const int OpenExclusive = 0x80;
    private const int OpenDirectoryOnly = 0x10000;
    private const int OpenNoFollow = 0x20000;
    private const int OpenCloseOnExec = 0x80000;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;
    private const int AtEmptyPath = 0x1000;
    private const int StatxType = 0x1;
    private const uint StatxBasicStats = 0x7FF;
    private const int Enoent = 2;
    private const uint TypeMask = 0xF000;

    public static bool IsRoot => Libc.geteuid() == 0;

    /// <summary>Opens a directory without following a symlink in its last component.</summary>
    public static int OpenDirectory(int directoryFd, string name) =>
        Check(Libc.openat(directoryFd, name, OpenReadOnly | OpenDirectoryOnly | OpenNoFollow | OpenCloseOnExec, 0), "open", name);

    /// <summary>Creates a new regular file (never an existing one, never through a symlink) open for writing.</summary>
    public static int CreateFile(int directoryFd, string name) =>
        Check(Libc.openat(directoryFd, name, OpenWriteOnly | OpenCreate | OpenExclusive | OpenNoFollow | OpenCloseOnExec, 0x180), "create", name);

    /// <summary>
    /// Creates the empty, mode-0000 file that stands for a device node in a staging tree (see DeviceNodeTable) and
    /// returns its inode number.
    /// </summary>
    public static ulong CreatePlaceholder(int directoryFd, string name)
    {
        var fd = Check(Libc.openat(directoryFd, name, OpenWriteOnly | OpenCreate | OpenExclusive | OpenNoFollow | OpenCloseOnExec, 0), "create", name);
        try
        {
            return Status(fd, string.Empty, emptyPath: true).Inode;
        }
        finally
        {
            Libc.close(fd);
        }
    }

    public static void Close(int fd) => Libc.close(fd);

    /// <summary>The entry itself (a symlink is not followed); null when it does not exist.</summary>
    public static FileStatus? TryStatus(int directoryFd, string name)
    {
        try
        {
            return Status(directoryFd, name, emptyPath: false);
        }
        catch (IOException ex) when (ex.HResult == Enoent)
        {
            return null;
        }
    }

    private static FileStatus Status(int directoryFd, string name, bool emptyPath)
    {
        Span<byte> buffer = stackalloc byte[256];
        var flags = AtSymlinkNoFollow | (emptyPath ? AtEmptyPath : 0);
        if (Libc.statx(directoryFd, name, flags, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            throw Failure("stat", name, Marshal.GetLastPInvokeError());
        }

        // struct statx: stx_nlink u32 @16, stx_mode u16 @28, stx_ino u64 @32, stx_size u64 @40, the same on every architecture.
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]);
        return new FileStatus(
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]),
            (mode & TypeMask) switch
            {
                0x4000 => LinuxFileType.Directory,
                0x8000 => LinuxFileType.RegularFile,
                0xA000 => LinuxFileType.SymbolicLink,
                _ => LinuxFileType.Other,
            },
            (UnixFileMode)(mode & 0xFFF),
            BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[16..]));
    }

    public static LinuxFileType TypeOf(int directoryFd, string name)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Libc.statx(directoryFd, name, AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Enoent ? LinuxFileType.Missing : throw Failure("stat", name, errno);
        }

        // struct statx: stx_mode is the u16 at offset 28 on every architecture.
        return (BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]) & TypeMask) switch
        {
            0x4000 => LinuxFileType.Directory,
            0x8000 => LinuxFileType.RegularFile,
            0xA000 => LinuxFileType.SymbolicLink,
            _ => LinuxFileType.Other,
        };
    }

    public static string ReadLink(int directoryFd, string name)
    {
        var buffer = new byte[4096];
        var length = Libc.readlinkat(directoryFd, name, buffer, (nuint)buffer.Length);
        if (length < 0)
        {
            throw Failure("readlink", name, Marshal.GetLastPInvokeError());
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length);
    }

    public static void MakeDirectory(int directoryFd, string name) =>
        Check(Libc.mkdirat(directoryFd, name, 0x1ED), "mkdir", name);

    /// <summary>A new directory no other user can enter (0700 from its creation, whatever the umask adds).</summary>
    public static void MakePrivateDirectory(string path) =>
        Check(Libc.mkdirat(AtFdCwd, path, 0x1C0), "mkdir", path);

    public static void MakeSymbolicLink(string target, int directoryFd, string name) =>
        Check(Libc.symlinkat(target, directoryFd, name), "symlink", name);

    public static void MakeHardLink(int targetDirectoryFd, string targetName, int directoryFd, string name) =>
        Check(Libc.linkat(targetDirectoryFd, targetName, directoryFd, name, 0), "link", name);

    /// <summary>Creates a device node or fifo; <paramref name="typeBits"/> is S_IFCHR, S_IFBLK or S_IFIFO.</summary>
    public static void MakeNode(int directoryFd, string name, uint typeBits, int major, int minor) =>
        Check(Libc.mknodat(directoryFd, name, typeBits | 0x180, MakeDevice((uint)major, (uint)minor)), "mknod", name);

    public static void Unlink(int directoryFd, string name, bool directory) =>
        Check(Libc.unlinkat(directoryFd, name, directory ? AtRemoveDir : 0), "unlink", name);

    public static void ChangeOwner(int directoryFd, string name, int uid, int gid) =>
        Check(Libc.fchownat(directoryFd, name, (uint)uid, (uint)gid, AtSymlinkNoFollow), "chown", name);

    /// <summary>Sets permission bits including setuid/setgid/sticky; never called on a symlink (Linux symlinks have no mode).</summary>
    public static void ChangeMode(int directoryFd, string name, UnixFileMode mode) =>
        Check(Libc.fchmodat(directoryFd, name, (uint)mode, 0), "chmod", name);

    public static unsafe void SetModificationTime(int directoryFd, string name, DateTimeOffset time)
    {
        var nanoseconds = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        var spec = new Libc.Timespec(Math.DivRem(nanoseconds, 1_000_000_000L, out var remainder), remainder);
        if (remainder < 0)
        {
            spec = new Libc.Timespec(spec.Seconds - 1, remainder + 1_000_000_000L);
        }

        var times = stackalloc Libc.Timespec[2] { spec, spec };
        Check(Libc.utimensat(directoryFd, name, times, AtSymlinkNoFollow), "utimensat", name);
    }

    /// <summary>Sets an extended attribute on the entry itself, not on a symlink's target.</summary>
    public static void SetExtendedAttribute(int directoryFd, string name, string attribute, byte[] value)
    {
        // There is no lsetxattrat: /proc/self/fd/N names the already-resolved directory, and lsetxattr
        // does not follow the final component.
        var path = $"/proc/self/fd/{directoryFd}/{name}";
        Check(Libc.lsetxattr(path, attribute, value, (nuint)value.Length, 0), $"setxattr {attribute}", name);
    }

    private static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    private static int Check(int result, string operation, string name) =>
        result >= 0 ? result : throw Failure(operation, name, Marshal.GetLastPInvokeError());

    private static IOException Failure(string operation, string name, int errno) =>
        new($"{operation} '{name}': {Marshal.GetPInvokeErrorMessage(errno)}", errno);
}
