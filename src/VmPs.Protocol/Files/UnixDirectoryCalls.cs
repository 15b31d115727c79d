using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Native;

namespace VmPs.Protocol.Files;

/// <summary>
/// The directory-relative (*at) libc calls: each takes an open directory and one name in it, and never follows a
/// symbolic link in that name, so what is touched is decided by descriptors the caller opened, not by a path a
/// link could redirect. <see cref="ConfinedDirectory"/> gives the directories; failures are
/// <see cref="FileOperationException"/>s with the errno's code.
/// </summary>
public static class UnixDirectoryCalls
{
    public const int OpenReadOnly = 0x0;
    public const int OpenWriteOnly = 0x1;
    public const int OpenReadWrite = 0x2;
    public const int OpenCreate = 0x40;
    public const int OpenExclusive = 0x80;
    public const int OpenTruncate = 0x200;
    public const int OpenAppend = 0x400;
    public const int OpenDirectoryOnly = 0x10000;
    public const int OpenNoFollow = 0x20000;
    public const int OpenCloseOnExec = 0x80000;
    public const int OpenPath = 0x200000;

    internal const int ENOENT = 2;
    internal const int EAGAIN = 11;
    internal const int EEXIST = 17;
    internal const int EXDEV = 18;
    internal const int ENOTDIR = 20;
    internal const int ENOSYS = 38;
    internal const int ELOOP = 40;

    private const int EPERM = 1;
    private const int EACCES = 13;
    private const int EISDIR = 21;
    private const int ENOSPC = 28;
    private const int ENOTEMPTY = 39;
    private const int ENAMETOOLONG = 36;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDirectory = 0x200;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const uint FifoType = 0x1000;

    /// <summary>Stands for the current directory where a directory handle is expected (AT_FDCWD).</summary>
    public static SafeFileHandle CurrentDirectory { get; } = new(-100, ownsHandle: false);

    /// <summary>openat(2) of one name; <paramref name="flags"/> are the Open* constants (close-on-exec is always added).</summary>
    public static SafeFileHandle Open(SafeFileHandle directory, string name, int flags, UnixFileMode mode = 0)
    {
        var fd = Libc.openat(directory, name, flags | OpenCloseOnExec, (uint)mode);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Failure(Marshal.GetLastPInvokeError(), name, "open");
    }

    /// <summary>The entry <paramref name="name"/> itself (a link, not its target); null when there is none.</summary>
    public static UnixFileStatus? TryGetStatus(SafeFileHandle directory, string name) => Statx(directory, name, AtSymlinkNoFollow, name);

    /// <summary>What an open descriptor refers to.</summary>
    public static UnixFileStatus GetStatus(SafeFileHandle entry) =>
        Statx(entry, "", AtEmptyPath | AtSymlinkNoFollow, "(open entry)") ?? throw Failure(ENOENT, "(open entry)", "stat");

    /// <summary>The target text of the link <paramref name="name"/> ("" with a descriptor opened on the link itself).</summary>
    public static string ReadLink(SafeFileHandle directory, string name)
    {
        // PATH_MAX: the kernel stores no longer target.
        var buffer = new byte[4096];
        var length = Libc.readlinkat(directory, name, buffer, (nuint)buffer.Length);
        return length >= 0
            ? System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length)
            : throw Failure(Marshal.GetLastPInvokeError(), name, "read the link");
    }

    public static void MakeDirectory(SafeFileHandle directory, string name, UnixFileMode mode) =>
        Check(Libc.mkdirat(directory, name, (uint)mode), name, "create the directory");

    public static void MakeSymbolicLink(string target, SafeFileHandle directory, string name) =>
        Check(Libc.symlinkat(target, directory, name), name, "create the symbolic link");

    /// <summary>linkat(2) without AT_SYMLINK_FOLLOW: a link to <paramref name="targetName"/> itself, never to what it points at.</summary>
    public static void MakeHardLink(SafeFileHandle targetDirectory, string targetName, SafeFileHandle directory, string name) =>
        Check(Libc.linkat(targetDirectory, targetName, directory, name, 0), name, "create the hard link");

    /// <summary>mknodat(2) of a FIFO (never a device: device nodes are not created by VmPs on the host).</summary>
    public static void MakeFifo(SafeFileHandle directory, string name, UnixFileMode mode) =>
        Check(Libc.mknodat(directory, name, FifoType | (uint)mode, 0), name, "create the FIFO");

    /// <summary>renameat(2): replaces an existing <paramref name="toName"/> that is not a directory.</summary>
    public static void Rename(SafeFileHandle fromDirectory, string fromName, SafeFileHandle toDirectory, string toName) =>
        Check(Libc.renameat(fromDirectory, fromName, toDirectory, toName), toName, "rename to");

    public static void Unlink(SafeFileHandle directory, string name, bool isDirectory) =>
        Check(Libc.unlinkat(directory, name, isDirectory ? AtRemoveDirectory : 0), name, "remove");

    /// <summary>
    /// Removes an entry and, for a directory, everything below it, never following a link; a missing entry is fine.
    /// A directory is made the owner's first, so unreadable ones (mode 0000, 0500) can be emptied without root.
    /// </summary>
    public static void RemoveTree(SafeFileHandle directory, string name)
    {
        switch (TryGetStatus(directory, name)?.Kind)
        {
            case null:
                return;
            case FileKind.Directory:
                SetMode(directory, name, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                using (var child = Open(directory, name, OpenReadOnly | OpenDirectoryOnly | OpenNoFollow))
                {
                    foreach (var entry in ListNames(child))
                    {
                        RemoveTree(child, entry);
                    }
                }

                Unlink(directory, name, isDirectory: true);
                return;
            default:
                Unlink(directory, name, isDirectory: false);
                return;
        }
    }

    /// <summary>The names in an open directory, through /proc/self/fd so the listing is of that very directory.</summary>
    public static IReadOnlyList<string> ListNames(SafeFileHandle directory) =>
        Directory.EnumerateFileSystemEntries($"/proc/self/fd/{directory.DangerousGetHandle()}").Select(Path.GetFileName).ToList()!;

    /// <summary>Changes the owner of the entry itself (a link, not its target); -1 keeps that id.</summary>
    public static void SetOwner(SafeFileHandle directory, string name, int uid, int gid) =>
        Check(Libc.fchownat(directory, name, uid, gid, AtSymlinkNoFollow), name, "change the owner of");

    /// <summary>fchmod(2) of an open file or directory (not an O_PATH descriptor): the bits land on what was opened.</summary>
    public static void SetMode(SafeFileHandle entry, UnixFileMode mode) =>
        Check(Libc.fchmod(entry, (uint)mode), "(open entry)", "change the mode of");

    /// <summary>
    /// Changes the mode of the entry <paramref name="name"/> itself. fchmodat(2) has no working AT_SYMLINK_NOFOLLOW
    /// before Linux 6.6, so the entry is opened O_PATH|O_NOFOLLOW and changed through its /proc/self/fd link, which
    /// names that inode and nothing a rename could redirect. A symbolic link has no mode: it is refused.
    /// </summary>
    public static void SetMode(SafeFileHandle directory, string name, UnixFileMode mode)
    {
        using var entry = Open(directory, name, OpenPath | OpenNoFollow);
        ChangeModeOfPath(ProcPath(entry), mode, name);
    }

    /// <summary>chmod(2) of a path, umask-independent (File.SetUnixFileMode is not callable from platform-neutral code).</summary>
    internal static void ChangeModeOfPath(string path, UnixFileMode mode, string displayName) =>
        Check(Libc.chmod(path, (uint)mode), displayName, "change the mode of");

    /// <summary>
    /// Sets an extended attribute of the entry itself (lsetxattr(2) of its name below the directory's /proc/self/fd
    /// link: there is no *at form, and the directory's descriptor keeps the lookup where the caller put it).
    /// </summary>
    public static void SetExtendedAttribute(SafeFileHandle directory, string name, string attribute, byte[] value) =>
        Check(Libc.lsetxattr($"{ProcPath(directory)}/{name}", attribute, value, (nuint)value.Length, 0), name, $"set the extended attribute {attribute} of");

    /// <summary>Sets the modification time of the entry itself (links included).</summary>
    public static void SetLastWriteTime(SafeFileHandle directory, string name, DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        var nanoseconds = (time.UtcTicks - DateTimeOffset.FromUnixTimeSeconds(seconds).UtcTicks) * 100;
        const long omit = (1L << 30) - 2;
        var times = new Libc.TimeSpecPair { AccessSeconds = 0, AccessNanoseconds = omit, ModifySeconds = seconds, ModifyNanoseconds = nanoseconds };
        Check(Libc.utimensat(directory, name, in times, AtSymlinkNoFollow), name, "set the modification time of");
    }

    /// <summary>
    /// The process's umask, from /proc/self/status (Linux 4.7+): setting it to read it back would briefly change
    /// it for every other thread.
    /// </summary>
    public static UnixFileMode CurrentUmask()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Umask:", StringComparison.Ordinal))
            {
                return (UnixFileMode)Convert.ToInt32(line["Umask:".Length..].Trim(), 8);
            }
        }

        throw new FileOperationException(FileErrorCodes.IoFailed, "/proc/self/status has no Umask line (Linux 4.7 or later is needed).");
    }

    internal static FileOperationException Failure(int errno, string name, string action)
    {
        var code = errno switch
        {
            ENOENT => FileErrorCodes.NotFound,
            ENOTDIR => FileErrorCodes.NotADirectory,
            EISDIR => FileErrorCodes.IsADirectory,
            EEXIST => FileErrorCodes.Exists,
            ENOTEMPTY => FileErrorCodes.DirectoryNotEmpty,
            ENOSPC => FileErrorCodes.NoSpace,
            EACCES or EPERM => FileErrorCodes.PermissionDenied,
            // RESOLVE_BENEATH refused to leave the directory; O_NOFOLLOW met a link where none may be followed.
            EXDEV or ELOOP => FileErrorCodes.PathEscape,
            _ => FileErrorCodes.IoFailed,
        };
        var reason = errno switch
        {
            EXDEV => "it would resolve outside the destination",
            ELOOP => "a symbolic link is in the way (or too many links)",
            ENAMETOOLONG => "the name is too long",
            _ => Marshal.GetPInvokeErrorMessage(errno),
        };
        return new FileOperationException(code, $"Cannot {action} '{name}': {reason}.");
    }

    internal static unsafe int OpenAt2(SafeFileHandle directory, string path, ulong flags, ulong resolve)
    {
        const long sysOpenat2 = 437;
        var how = new Libc.OpenHow { Flags = flags, Mode = 0, Resolve = resolve };
        return (int)Libc.syscall(sysOpenat2, directory, path, &how, (nuint)sizeof(Libc.OpenHow));
    }

    private static string ProcPath(SafeFileHandle handle) => $"/proc/self/fd/{handle.DangerousGetHandle()}";

    private static UnixFileStatus? Statx(SafeFileHandle directory, string name, int flags, string displayName)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Libc.statx(directory, name, flags, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR ? null : throw Failure(errno, displayName, "read the metadata of");
        }

        // struct statx, the same on every architecture: nlink @16, uid @20, gid @24, mode @28 (u16), ino @32, size @40, mtime @112.
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.File,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]);
        var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]);
        return new UnixFileStatus(
            kind,
            BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            mode & 0xFFF,
            BinaryPrimitives.ReadInt32LittleEndian(buffer[20..]),
            BinaryPrimitives.ReadInt32LittleEndian(buffer[24..]),
            DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[16..]));
    }

    private static void Check(int result, string name, string action)
    {
        if (result != 0)
        {
            throw Failure(Marshal.GetLastPInvokeError(), name, action);
        }
    }
}
