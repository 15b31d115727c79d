namespace VmPs.Protocol.Archives;

/// <summary>What an entry is; <see cref="Other"/> covers types a consumer should skip (its content is skipped for it).</summary>
public enum TarEntryKind
{
    File,
    Directory,
    SymbolicLink,
    HardLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Other,
}

/// <summary>
/// One entry of an untrusted tar stream, with every value as the archive states it (names are not checked against
/// any directory: that is the consumer's job). <see cref="Data"/> reads exactly <see cref="Size"/> bytes of content
/// and is valid until the next entry is read.
/// </summary>
public sealed class TarArchiveEntry
{
    internal TarArchiveEntry(
        string name,
        TarEntryKind kind,
        char typeFlag,
        string linkName,
        int mode,
        int uid,
        int gid,
        DateTimeOffset modificationTime,
        long size,
        int deviceMajor,
        int deviceMinor,
        IReadOnlyDictionary<string, byte[]> extendedAttributes,
        long dataOffset,
        Stream data)
    {
        Name = name;
        Kind = kind;
        TypeFlag = typeFlag;
        LinkName = linkName;
        Mode = (UnixFileMode)(mode & 0xFFF);
        Uid = uid;
        Gid = gid;
        ModificationTime = modificationTime;
        Size = size;
        DeviceMajor = deviceMajor;
        DeviceMinor = deviceMinor;
        ExtendedAttributes = extendedAttributes;
        DataOffset = dataOffset;
        Data = data;
    }

    /// <summary>The entry's path as stored (PAX path, GNU long name, or ustar prefix/name), never empty, never with a NUL.</summary>
    public string Name { get; }

    public TarEntryKind Kind { get; }

    /// <summary>The raw type flag, for messages about <see cref="TarEntryKind.Other"/> entries.</summary>
    public char TypeFlag { get; }

    /// <summary>A symbolic link's target or a hard link's target entry name; empty for other kinds.</summary>
    public string LinkName { get; }

    /// <summary>The permission bits, setuid, setgid and sticky included: a consumer decides which to apply.</summary>
    public UnixFileMode Mode { get; }

    public int Uid { get; }

    public int Gid { get; }

    public DateTimeOffset ModificationTime { get; }

    /// <summary>Bytes of content (zero for every kind but <see cref="TarEntryKind.File"/> and <see cref="TarEntryKind.Other"/>).</summary>
    public long Size { get; }

    public int DeviceMajor { get; }

    public int DeviceMinor { get; }

    /// <summary>Extended attributes with their raw values (SCHILY.xattr.* and LIBARCHIVE.xattr.* PAX records).</summary>
    public IReadOnlyDictionary<string, byte[]> ExtendedAttributes { get; }

    /// <summary>Where the content starts in the (uncompressed) tar stream: for reading it again from a seekable file.</summary>
    public long DataOffset { get; }

    /// <summary>The content; a read past what the archive holds throws <see cref="TarArchiveError.Truncated"/>.</summary>
    public Stream Data { get; }
}
