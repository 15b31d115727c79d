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
    internal static GuestFileInfo From(FileInfoMessage message) =>
        new(message.Name, message.Path, message.Type, message.Size, (UnixFileMode)message.Mode, message.Uid, message.Gid, message.LastWriteTimeUtc, message.LinkTarget);
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
