using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Files;

/// <summary>The checks and file system steps of the agent's file operations, with the error codes the host maps.</summary>
internal static class GuestFiles
{
    private const UnixFileMode DefaultFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static FileInfoMessage Describe(string path)
    {
        var status = UnixFileSystem.TryGetStatus(path) ?? throw NotFound(path);
        var linkTarget = status.Kind == FileKind.SymbolicLink ? new FileInfo(path).LinkTarget : null;
        var name = path == "/" ? "/" : Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        return new FileInfoMessage(name, path, status.Kind, status.Size, status.Mode, status.Uid, status.Gid, status.LastWriteTimeUtc, linkTarget);
    }

    public static IEnumerable<FileInfoMessage> List(string path)
    {
        RequireDirectory(path);
        return Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal).Select(Describe);
    }

    /// <summary>Deletes a file or link (never what it points to), an empty directory, or with recursive any directory.</summary>
    public static void Delete(string path, bool recursive)
    {
        var status = UnixFileSystem.TryGetStatus(path) ?? throw NotFound(path);
        if (Path.TrimEndingDirectorySeparator(path) == "/")
        {
            throw new FileOperationException(FileErrorCodes.PermissionDenied, "The guest's root directory cannot be deleted.");
        }

        if (status.Kind != FileKind.Directory)
        {
            File.Delete(path);
        }
        else if (recursive)
        {
            Directory.Delete(path, recursive: true);
        }
        else if (Directory.EnumerateFileSystemEntries(path).Any())
        {
            throw new FileOperationException(FileErrorCodes.DirectoryNotEmpty, $"The directory '{path}' is not empty; delete it recursively.");
        }
        else
        {
            Directory.Delete(path);
        }
    }

    /// <summary>Opens a file (following links) for streaming to the host.</summary>
    public static FileStream OpenRead(string path)
    {
        if (Directory.Exists(path))
        {
            throw IsADirectory(path);
        }

        _ = UnixFileSystem.TryGetStatus(path) ?? throw NotFound(path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> may be written, creates its parent directories and returns the metadata the
    /// new file gets: the requested mode, else the replaced file's, else 0644.
    /// </summary>
    public static FileMetadata PrepareWrite(string path, FileRequestMessage request)
    {
        if (request.Mode is < 0 or > 0xFFF)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"{request.Mode} is not a file mode (0 to 07777).");
        }

        var existing = UnixFileSystem.TryGetStatus(path);
        if (existing?.Kind == FileKind.Directory || Directory.Exists(path))
        {
            throw IsADirectory(path);
        }

        if (existing is not null && !request.Overwrite)
        {
            throw Exists(path);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var mode = (UnixFileMode?)request.Mode ?? (existing is { } old ? (UnixFileMode)old.Mode : DefaultFileMode);
        return new FileMetadata(mode, Uid: request.Uid, Gid: request.Gid);
    }

    /// <summary>Creates the directory an extraction goes to, with its parents.</summary>
    public static void PrepareDirectory(string path)
    {
        var status = UnixFileSystem.TryGetStatus(path);
        if (status is { Kind: not FileKind.Directory } && !Directory.Exists(path))
        {
            throw new FileOperationException(FileErrorCodes.NotADirectory, $"'{path}' exists and is not a directory.");
        }

        Directory.CreateDirectory(path);
    }

    /// <summary>What an archive of <paramref name="path"/> packs: a link given as the path is followed, as cp does.</summary>
    public static (string Source, FileInfoMessage Info) PrepareArchive(string path, bool recursive)
    {
        var info = Describe(path);
        var source = info.Type == FileKind.SymbolicLink
            ? new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path
            : path;
        if (!recursive && Directory.Exists(source))
        {
            throw new FileOperationException(FileErrorCodes.IsADirectory, $"'{path}' is a directory; copy it recursively.");
        }

        return (source, info);
    }

    private static void RequireDirectory(string path)
    {
        var status = UnixFileSystem.TryGetStatus(path) ?? throw NotFound(path);
        if (status.Kind != FileKind.Directory && !Directory.Exists(path))
        {
            throw new FileOperationException(FileErrorCodes.NotADirectory, $"'{path}' is not a directory.");
        }
    }

    private static FileOperationException NotFound(string path) => new(FileErrorCodes.NotFound, $"'{path}' does not exist in the guest.");

    private static FileOperationException IsADirectory(string path) => new(FileErrorCodes.IsADirectory, $"'{path}' is a directory.");

    private static FileOperationException Exists(string path) => new(FileErrorCodes.Exists, $"'{path}' already exists in the guest.");
}
