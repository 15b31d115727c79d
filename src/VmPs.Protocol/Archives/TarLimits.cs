namespace VmPs.Protocol.Archives;

/// <summary>
/// What an untrusted tar stream may claim before <see cref="TarArchiveReader"/> refuses it with
/// <see cref="TarArchiveError.LimitExceeded"/>. Memory held by the reader never exceeds
/// <see cref="MaxExtendedHeaderBytes"/> plus a 64 KiB buffer, whatever the archive holds; the other limits bound what
/// a consumer writes (disk) and keeps per entry (memory).
/// </summary>
public sealed record TarLimits
{
    public static TarLimits Default { get; } = new();

    /// <summary>The longest entry name or link target, in UTF-8 bytes: Linux's PATH_MAX (4096).</summary>
    public int MaxPathBytes { get; init; } = 4096;

    /// <summary>
    /// The largest PAX extended header of one entry (its records, extended attributes included), summed over the
    /// extended headers that precede it: 1 MiB. Real archives need a few hundred bytes; a capability or ACL xattr a
    /// few kilobytes.
    /// </summary>
    public int MaxExtendedHeaderBytes { get; init; } = 1 << 20;

    /// <summary>The most entries (headers of any type) in one archive: 2,000,000, twenty times a full Debian root.</summary>
    public long MaxEntries { get; init; } = 2_000_000;

    /// <summary>
    /// The most bytes the archive may expand to (headers, content and padding, after decompression): 64 GiB. This is
    /// what bounds a compression bomb; an entry whose declared size would pass it is refused before any of it is read.
    /// </summary>
    public long MaxTotalBytes { get; init; } = 64L << 30;
}
