namespace VmPs.Protocol.Archives;

/// <summary>Why an untrusted tar stream was refused.</summary>
public enum TarArchiveError
{
    /// <summary>Not a well-formed tar stream: a bad checksum or number, a malformed PAX record, a NUL in a name.</summary>
    Malformed,

    /// <summary>The stream ends inside a header or before the content an entry declares.</summary>
    Truncated,

    /// <summary>A <see cref="TarLimits"/> limit was reached.</summary>
    LimitExceeded,

    /// <summary>A tar feature VmPs does not read (GNU sparse files, multi-volume archives).</summary>
    Unsupported,
}

/// <summary>A tar stream refused by <see cref="TarArchiveReader"/>; callers wrap it with the archive it came from.</summary>
public sealed class TarArchiveException(TarArchiveError error, string message, string? entryName = null) : Exception(message)
{
    public TarArchiveError Error { get; } = error;

    /// <summary>The entry being read when the stream was refused, when its name was known.</summary>
    public string? EntryName { get; } = entryName;
}
