namespace VmPs.Protocol.Messages;

/// <summary>What a <see cref="FileRequestMessage"/> asks for.</summary>
public enum FileOperation
{
    /// <summary>Answered by FileResult with the path's <see cref="FileInfoMessage"/> (symbolic links are not followed).</summary>
    Stat,

    /// <summary>Answered by FileEntries batches, then FileResult.</summary>
    List,

    /// <summary>Deletes a file, link or empty directory (any directory with Recursive); answered by FileResult.</summary>
    Delete,

    /// <summary>FileReady with the file's info, then FileData within the host's credit, then FileEnd.</summary>
    Read,

    /// <summary>FileReady, then the host's FileData and FileEnd; the file is replaced atomically and FileResult follows.</summary>
    Write,

    /// <summary>
    /// FileReady, then a tar stream from the host extracted under Path; FileResult follows. With EntryName the stream
    /// may hold only that entry (and, with Recursive, the tree below it).
    /// </summary>
    Extract,

    /// <summary>FileReady with the tree's size, then a tar stream of Path (entries named EntryName/...) and FileEnd.</summary>
    Archive,
}

/// <summary>
/// One file operation. <see cref="Mode"/> holds permission bits (0-07777); <see cref="Uid"/>/<see cref="Gid"/>
/// set the owner of a written file; <see cref="PreserveOwnership"/> makes an extraction keep the tar's owners.
/// <see cref="EntryName"/> names the one top entry of an Archive's stream, and of an Extract's when set.
/// </summary>
public sealed record FileRequestMessage(
    FileOperation Operation,
    string Path,
    bool Recursive = false,
    bool Overwrite = false,
    int? Mode = null,
    int? Uid = null,
    int? Gid = null,
    bool PreserveOwnership = false,
    string? EntryName = null);

public enum FileKind
{
    File,
    Directory,
    SymbolicLink,
    Other,
}

/// <summary>Metadata of one file system entry; <see cref="Mode"/> holds the permission bits only.</summary>
public sealed record FileInfoMessage(
    string Name,
    string Path,
    FileKind Type,
    long Size,
    int Mode,
    int Uid,
    int Gid,
    DateTimeOffset LastWriteTimeUtc,
    string? LinkTarget = null);

/// <summary>Sent when the guest is ready to stream: the file read, or how many content bytes a tree holds.</summary>
public sealed record FileReadyMessage(FileInfoMessage? Info = null, long TotalBytes = 0);

/// <summary>How a file operation ended: the entry written or stat'ed, and what a transfer moved.</summary>
public sealed record FileResultMessage(FileInfoMessage? Info = null, int Files = 0, long Bytes = 0);

public sealed record FileEntriesMessage(IReadOnlyList<FileInfoMessage> Entries);

/// <summary>Error codes of file operations (in <see cref="ErrorMessage.Code"/>).</summary>
public static class FileErrorCodes
{
    public const string NotFound = "FileNotFound";
    public const string IsADirectory = "IsADirectory";
    public const string NotADirectory = "NotADirectory";
    public const string PermissionDenied = "PermissionDenied";
    public const string Exists = "FileExists";
    public const string DirectoryNotEmpty = "DirectoryNotEmpty";
    public const string PathEscape = "PathEscape";

    /// <summary>A lookup met more symbolic links than the kernel follows (40): a loop, or a chain built to exhaust it.</summary>
    public const string LinkLoop = "SymbolicLinkLoop";

    /// <summary>An archive holds an entry that was not asked for (another name, a second root, a tree for a file).</summary>
    public const string UnexpectedEntry = "UnexpectedEntry";
    public const string UnsupportedEntry = "UnsupportedEntry";
    public const string InvalidArchive = "InvalidArchive";
    public const string NoSpace = "NoSpace";
    public const string IoFailed = "FileIoFailed";
}
