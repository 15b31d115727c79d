using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>An entry of the guest's file system; <see cref="Mode"/> holds the permission bits.</summary>
public sealed record GuestFileInfo(
    string Name,
    string Path,
    FileKind Type,
    long Size,
    UnixFileMode Mode,
    int Uid,
    int Gid,
    DateTimeOffset LastWriteTimeUtc,
    string? LinkTarget)
{
    /// <summary>
    /// The agent's description, checked: names up to NAME_MAX (255 bytes) without a slash, paths and link targets up
    /// to PATH_MAX (4096 bytes), permission bits only, no negative size. Anything else is AgentProtocolError.
    /// </summary>
    internal static GuestFileInfo From(FileInfoMessage message)
    {
        // Deserialized JSON may hold nulls where the message says otherwise.
        var name = message.Name ?? "";
        var path = message.Path ?? "";
        var problem = message switch
        {
            _ when name.Length == 0 || path.Length == 0 => "an empty name or path",
            _ when name != "/" && (name.Contains('/') || Utf8Length(name) > TarTreeExtractor.MaxNameBytes) => "a name with a slash or longer than 255 bytes",
            _ when Utf8Length(path) > TarTreeExtractor.MaxPathBytes || Utf8Length(message.LinkTarget ?? "") > TarTreeExtractor.MaxPathBytes => "a path or link target longer than 4096 bytes",
            { Mode: < 0 or > 0xFFF } => $"the mode {message.Mode}",
            { Size: < 0 } => $"the size {message.Size}",
            _ when !Enum.IsDefined(message.Type) => $"the type {(int)message.Type}",
            _ => null,
        };
        return problem is null
            ? new(name, path, message.Type, message.Size, (UnixFileMode)message.Mode, message.Uid, message.Gid, message.LastWriteTimeUtc, message.LinkTarget)
            : throw AgentErrors.ProtocolError($"It described a file with {problem}.");
    }

    private static int Utf8Length(string text) => System.Text.Encoding.UTF8.GetByteCount(text);
}

/// <summary>How <see cref="AgentFileClient"/> copies between host and guest.</summary>
public sealed record GuestCopyOptions
{
    /// <summary>Copy directory trees; without it a directory fails with CopyRecurseRequired.</summary>
    public bool Recurse { get; init; }

    /// <summary>Replace an existing destination; without it one fails with GuestFileExists or HostFileExists.</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Keep the source's owners, and out of a guest its permission bits (never setuid or setgid). Without it a copy
    /// belongs to the user that writes it (root in the guest, the invoking user on the host), as cp without -p.
    /// </summary>
    public bool PreserveOwnership { get; init; }

    /// <summary>Create a missing destination directory with its parents; without it one fails with CopyDestinationNotFound.</summary>
    public bool CreateFullPath { get; init; }
}

/// <summary>How <see cref="AgentFileClient.WriteAsync"/> creates the file.</summary>
public sealed record GuestFileWriteOptions
{
    /// <summary>Permission bits; defaults to the replaced file's, else 0644.</summary>
    public UnixFileMode? Mode { get; init; }

    public int? Uid { get; init; }

    public int? Gid { get; init; }

    /// <summary>Replace an existing file (atomically); without it an existing file fails with GuestFileExists.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>Content bytes moved so far, of <see cref="TotalBytes"/> (the files' sizes when the transfer started).</summary>
public readonly record struct FileTransferProgress(long Bytes, long TotalBytes)
{
    public int PercentComplete => TotalBytes <= 0 ? 100 : (int)Math.Min(100, Bytes * 100 / TotalBytes);
}

/// <summary>What a copy between host and guest did: the path it created or replaced, entries and content bytes.</summary>
public sealed record GuestFileCopyResult(string Source, string Destination, int Entries, long Bytes, TimeSpan Duration);
