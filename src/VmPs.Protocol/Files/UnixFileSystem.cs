using System.Runtime.InteropServices;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>An entry's lstat: what .NET's file APIs do not expose (owner, the type of a dangling link).</summary>
public readonly record struct UnixFileStatus(FileKind Kind, long Size, int Mode, int Uid, int Gid, DateTimeOffset LastWriteTimeUtc);

/// <summary>The few libc calls both ends need for file metadata (Linux x86-64 layouts).</summary>
public static partial class UnixFileSystem
{
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    private const int EACCES = 13;
    private const int EPERM = 1;
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint TypeMask = 0xF000;
    private const uint RegularType = 0x8000;
    private const uint DirectoryType = 0x4000;
    private const uint LinkType = 0xA000;

    /// <summary>The entry at <paramref name="path"/> without following a final symbolic link; null when there is none.</summary>
    public static UnixFileStatus? TryGetStatus(string path)
    {
        if (LStat(path, out var buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR ? null : throw ErrorFor(errno, path, "read the metadata of");
        }

        var kind = (buffer.Mode & TypeMask) switch
        {
            RegularType => FileKind.File,
            DirectoryType => FileKind.Directory,
            LinkType => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };
        var lastWrite = DateTimeOffset.FromUnixTimeSeconds(buffer.MtimeSeconds).AddTicks(buffer.MtimeNanoseconds / 100);
        return new UnixFileStatus(kind, buffer.Size, (int)(buffer.Mode & 0xFFF), (int)buffer.Uid, (int)buffer.Gid, lastWrite);
    }

    public static UnixFileStatus GetStatus(string path) =>
        TryGetStatus(path) ?? throw new FileOperationException(FileErrorCodes.NotFound, $"'{path}' does not exist.");

    /// <summary>Changes the owner of an entry itself (a link, not its target).</summary>
    public static void SetOwner(string path, int uid, int gid)
    {
        if (LChown(path, uid, gid) != 0)
        {
            throw ErrorFor(Marshal.GetLastPInvokeError(), path, "change the owner of");
        }
    }

    /// <summary>chmod(2), umask-independent (File.SetUnixFileMode is not callable from platform-neutral code).</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (ChMod(path, (int)mode) != 0)
        {
            throw ErrorFor(Marshal.GetLastPInvokeError(), path, "change the mode of");
        }
    }

    /// <summary>Sets the modification time of an entry itself (links included, which .NET cannot).</summary>
    public static void SetLastWriteTime(string path, DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        var nanoseconds = (time.UtcTicks - DateTimeOffset.FromUnixTimeSeconds(seconds).UtcTicks) * 100;
        const long omit = (1L << 30) - 2;
        var times = new TimeSpecPair { AccessSeconds = 0, AccessNanoseconds = omit, ModifySeconds = seconds, ModifyNanoseconds = nanoseconds };
        if (UtimensAt(AT_FDCWD, path, in times, AT_SYMLINK_NOFOLLOW) != 0)
        {
            throw ErrorFor(Marshal.GetLastPInvokeError(), path, "set the modification time of");
        }
    }

    private static FileOperationException ErrorFor(int errno, string path, string action)
    {
        var code = errno switch
        {
            ENOENT => FileErrorCodes.NotFound,
            ENOTDIR => FileErrorCodes.NotADirectory,
            EACCES or EPERM => FileErrorCodes.PermissionDenied,
            _ => FileErrorCodes.IoFailed,
        };
        return new FileOperationException(code, $"Cannot {action} '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.");
    }

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, out StatBuffer buffer);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChMod(string path, int mode);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensAt(int directoryFd, string path, in TimeSpecPair times, int flags);

    /// <summary>struct stat of Linux x86-64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct StatBuffer
    {
        public ulong Device;
        public ulong Inode;
        public ulong LinkCount;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public int Padding;
        public ulong SpecialDevice;
        public long Size;
        public long BlockSize;
        public long Blocks;
        public long AtimeSeconds;
        public long AtimeNanoseconds;
        public long MtimeSeconds;
        public long MtimeNanoseconds;
        public long CtimeSeconds;
        public long CtimeNanoseconds;
        public long Reserved0;
        public long Reserved1;
        public long Reserved2;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpecPair
    {
        public long AccessSeconds;
        public long AccessNanoseconds;
        public long ModifySeconds;
        public long ModifyNanoseconds;
    }
}
