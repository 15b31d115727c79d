using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>An entry's lstat: what .NET's file APIs do not expose (owner, inode, link count, the type of a dangling link).</summary>
public readonly record struct UnixFileStatus(FileKind Kind, long Size, int Mode, int Uid, int Gid, DateTimeOffset LastWriteTimeUtc, ulong Inode, uint Links);

/// <summary>File metadata by path, for paths the caller chose itself (see <see cref="ConfinedDirectory"/> for untrusted ones).</summary>
public static class UnixFileSystem
{
    /// <summary>The entry at <paramref name="path"/> without following a final symbolic link; null when there is none.</summary>
    public static UnixFileStatus? TryGetStatus(string path) => UnixDirectoryCalls.TryGetStatus(UnixDirectoryCalls.CurrentDirectory, path);

    public static UnixFileStatus GetStatus(string path) =>
        TryGetStatus(path) ?? throw new FileOperationException(FileErrorCodes.NotFound, $"'{path}' does not exist.");

    /// <summary>Changes the owner of an entry itself (a link, not its target).</summary>
    public static void SetOwner(string path, int uid, int gid) => UnixDirectoryCalls.SetOwner(UnixDirectoryCalls.CurrentDirectory, path, uid, gid);

    /// <summary>chmod(2), umask-independent (File.SetUnixFileMode is not callable from platform-neutral code).</summary>
    public static void SetMode(string path, UnixFileMode mode) => UnixDirectoryCalls.ChangeModeOfPath(path, mode, path);

    /// <summary>Sets the modification time of an entry itself (links included, which .NET cannot).</summary>
    public static void SetLastWriteTime(string path, DateTimeOffset time) =>
        UnixDirectoryCalls.SetLastWriteTime(UnixDirectoryCalls.CurrentDirectory, path, time);
}
