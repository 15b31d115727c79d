using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace VmPs.Protocol.Archives;

/// <summary>
/// Reads a tar stream nobody vouches for (image layers, docker save archives, files a guest sends): ustar, GNU
/// (long names, base-256 numbers) and PAX, one entry at a time, with content streamed, never buffered. Everything
/// the stream claims is checked against <see cref="TarLimits"/> before memory or disk is committed to it, and every
/// refusal is a <see cref="TarArchiveException"/> saying why.
/// </summary>
/// <remarks>
/// Written here rather than taken from System.Formats.Tar because its TarReader reads a PAX header or a GNU long
/// name whole into memory, whatever size the header claims (a 1.4 MB gzipped layer took pwsh to 6.5 GB), decodes
/// binary xattr values as UTF-8, accepts NUL bytes inside PAX paths (libc then sees a shorter path, "..\0x" is
/// "..") and reports a stream that ends early as a bare EndOfStreamException. Header-only types (links,
/// directories, devices, fifos) carry no content whatever their size field says, as in Go's archive/tar, which
/// wrote most of the layers this reads.
/// </remarks>
public sealed class TarArchiveReader : IAsyncDisposable, IDisposable
{
    private const int BlockSize = 512;
    private const int BufferSize = 1 << 16;

    private readonly Stream source;
    private readonly bool leaveOpen;
    private readonly TarLimits limits;
    private readonly byte[] buffer = new byte[BufferSize];
    private readonly byte[] header = new byte[BlockSize];
    private int bufferStart;
    private int bufferEnd;
    private long entries;
    private EntryStream? current;
    private bool finished;

    public TarArchiveReader(Stream archive, TarLimits? limits = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(archive);
        source = archive;
        this.limits = limits ?? TarLimits.Default;
        this.leaveOpen = leaveOpen;
    }

    /// <summary>Bytes of the tar stream consumed so far.</summary>
    public long Position { get; private set; }

    /// <summary>
    /// The next entry, or null at the end of the archive (a zero block, or the end of the stream between entries).
    /// The previous entry's unread content is skipped.
    /// </summary>
    public async ValueTask<TarArchiveEntry?> ReadNextAsync(CancellationToken cancellationToken)
    {
        if (finished)
        {
            return null;
        }

        if (current is not null)
        {
            await SkipAsync(current.Remaining + current.Padding, current.Name, cancellationToken).ConfigureAwait(false);
            current = null;
        }

        var pending = new PendingRecords();
        while (true)
        {
            if (!await ReadHeaderAsync(pending.IsEmpty ? null : pending.Path ?? pending.LongName ?? "(unnamed)", cancellationToken).ConfigureAwait(false))
            {
                finished = true;
                return null;
            }

            var typeFlag = (char)header[156];
            var name = pending.Path ?? pending.LongName ?? HeaderName();
            var size = pending.Size ?? Number(124, 12, "size", name);
            switch (typeFlag)
            {
                case 'x':
                    pending.Parse(await ReadMetadataAsync(size, limits.MaxExtendedHeaderBytes - pending.Bytes, "PAX extended header", name, cancellationToken).ConfigureAwait(false), name);
                    continue;
                case 'g':
                    // Global records would apply to every later entry; none that matters here is ever written as one,
                    // so they are checked and bounded like any other header, then ignored (as TarReader and Go do).
                    new PendingRecords().Parse(await ReadMetadataAsync(size, limits.MaxExtendedHeaderBytes, "PAX global header", name, cancellationToken).ConfigureAwait(false), name);
                    continue;
                case 'L':
                    pending.LongName = CString(await ReadMetadataAsync(size, limits.MaxPathBytes + 1, "GNU long name", name, cancellationToken).ConfigureAwait(false));
                    continue;
                case 'K':
                    pending.LongLink = CString(await ReadMetadataAsync(size, limits.MaxPathBytes + 1, "GNU long link name", name, cancellationToken).ConfigureAwait(false));
                    continue;
                case 'V':
                    await SkipAsync(size + Padding(size), name, cancellationToken).ConfigureAwait(false);
                    continue;
                case 'S' or 'M':
                    throw new TarArchiveException(
                        TarArchiveError.Unsupported,
                        $"The entry '{name}' is a GNU {(typeFlag == 'S' ? "sparse file" : "multi-volume continuation")}, which is not supported.",
                        name);
            }

            return CreateEntry(typeFlag, name, size, pending);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!leaveOpen)
        {
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (!leaveOpen)
        {
            source.Dispose();
        }
    }

    private TarArchiveEntry CreateEntry(char typeFlag, string name, long size, PendingRecords pending)
    {
        if (name.Length == 0)
        {
            throw Malformed("An entry has an empty name.", name);
        }

        CheckPath(name, "name", name);
        var kind = typeFlag switch
        {
            '0' or '7' => TarEntryKind.File,
            '\0' => name.EndsWith('/') ? TarEntryKind.Directory : TarEntryKind.File,
            '1' => TarEntryKind.HardLink,
            '2' => TarEntryKind.SymbolicLink,
            '3' => TarEntryKind.CharacterDevice,
            '4' => TarEntryKind.BlockDevice,
            '5' => TarEntryKind.Directory,
            '6' => TarEntryKind.Fifo,
            _ => TarEntryKind.Other,
        };
        var linkName = kind is TarEntryKind.HardLink or TarEntryKind.SymbolicLink
            ? pending.LinkPath ?? pending.LongLink ?? Text(157, 100)
            : string.Empty;
        if (kind is TarEntryKind.HardLink or TarEntryKind.SymbolicLink)
        {
            if (linkName.Length == 0)
            {
                throw Malformed($"The link '{name}' has no target.", name);
            }

            CheckPath(linkName, "link target", name);
        }

        var hasContent = kind is TarEntryKind.File or TarEntryKind.Other;
        var contentSize = hasContent ? size : 0;
        if (contentSize > limits.MaxTotalBytes - Position)
        {
            throw LimitExceeded($"The entry '{name}' declares {size} bytes, more than the {limits.MaxTotalBytes} bytes the archive may expand to.", name);
        }

        var isDevice = kind is TarEntryKind.CharacterDevice or TarEntryKind.BlockDevice;
        current = new EntryStream(this, name, contentSize, Padding(contentSize));
        return new TarArchiveEntry(
            name,
            kind,
            typeFlag,
            linkName,
            (int)Number(100, 8, "mode", name),
            pending.Uid ?? Id(108, "uid", name),
            pending.Gid ?? Id(116, "gid", name),
            pending.ModificationTime ?? Time(Number(136, 12, "mtime", name), 0, name),
            contentSize,
            isDevice ? (int)Math.Min(Number(329, 8, "devmajor", name), int.MaxValue) : 0,
            isDevice ? (int)Math.Min(Number(337, 8, "devminor", name), int.MaxValue) : 0,
            pending.ExtendedAttributes,
            Position,
            current);
    }

    /// <summary>Reads the next header block into <see cref="header"/>; false at the end of the archive.</summary>
    private async ValueTask<bool> ReadHeaderAsync(string? pendingName, CancellationToken cancellationToken)
    {
        if (++entries > limits.MaxEntries)
        {
            throw LimitExceeded($"The archive has more than {limits.MaxEntries} entries.", pendingName);
        }

        if (BlockSize > limits.MaxTotalBytes - Position)
        {
            throw LimitExceeded($"The archive expands to more than {limits.MaxTotalBytes} bytes.", pendingName);
        }

        var read = await ReadAsync(header, cancellationToken).ConfigureAwait(false);
        if (read == 0 && pendingName is null)
        {
            return false;
        }

        if (read < BlockSize)
        {
            throw new TarArchiveException(TarArchiveError.Truncated, $"The archive ends inside a header, after {Position} bytes.", pendingName);
        }

        if (header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return pendingName is null ? false : throw Malformed($"The archive ends after the extended header of '{pendingName}'.", pendingName);
        }

        VerifyChecksum(pendingName);
        return true;
    }

    private void VerifyChecksum(string? pendingName)
    {
        long unsigned = 0;
        long signed = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            var value = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsigned += value;
            signed += (sbyte)value;
        }

        var stored = Number(148, 8, "checksum", pendingName ?? HeaderName());
        if (stored != unsigned && stored != signed)
        {
            throw Malformed($"A header at offset {Position - BlockSize} has a wrong checksum (not a tar archive, or a corrupt one).", pendingName);
        }
    }

    /// <summary>The ustar name, with the POSIX prefix (GNU headers use those bytes for other fields).</summary>
    private string HeaderName()
    {
        var name = Text(0, 100);
        var isPosix = header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        var prefix = isPosix ? Text(345, 155) : string.Empty;
        return prefix.Length > 0 ? $"{prefix}/{name}" : name;
    }

    private string Text(int offset, int length)
    {
        var field = header.AsSpan(offset, length);
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    /// <summary>A numeric field: octal text, or (GNU) big-endian base-256 when the first byte has its high bit set.</summary>
    private long Number(int offset, int length, string field, string? name)
    {
        var bytes = header.AsSpan(offset, length);
        if ((bytes[0] & 0x80) != 0)
        {
            // 0x80, then the digits: those past the last eight must be zero, and eight must leave a long's sign bit clear.
            var digits = bytes[1..];
            var significant = digits[^Math.Min(sizeof(long), digits.Length)..];
            if (bytes[0] != 0x80 || digits[..^significant.Length].IndexOfAnyExcept((byte)0) >= 0 || (significant.Length == sizeof(long) && (significant[0] & 0x80) != 0))
            {
                throw Malformed($"The {field} field of '{name}' is a negative or oversized base-256 number.", name);
            }

            long value = 0;
            foreach (var b in significant)
            {
                value = (value << 8) | b;
            }

            return value;
        }

        var text = bytes.Trim((byte)' ').TrimEnd((byte)0).Trim((byte)' ');
        long octal = 0;
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'7' || octal > (long.MaxValue >> 3))
            {
                throw Malformed($"The {field} field of '{name}' is not an octal number.", name);
            }

            octal = (octal * 8) + (b - '0');
        }

        return octal;
    }

    private int Id(int offset, string field, string name) =>
        Number(offset, 8, field, name) is var value and <= int.MaxValue ? (int)value : throw Malformed($"The {field} of '{name}' is out of range.", name);

    private static DateTimeOffset Time(long seconds, long nanoseconds, string? name)
    {
        const long maxSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z
        const long minSeconds = -62_135_596_800; // 0001-01-01T00:00:00Z
        if (seconds is < minSeconds or > maxSeconds)
        {
            throw Malformed($"The modification time of '{name}' is out of range.", name);
        }

        return DateTimeOffset.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100));
    }

    private void CheckPath(string path, string what, string name)
    {
        if (path.Contains('\0'))
        {
            throw Malformed($"The {what} of '{name.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL byte.", name.Replace("\0", "\\0", StringComparison.Ordinal));
        }

        if (Encoding.UTF8.GetByteCount(path) > limits.MaxPathBytes)
        {
            throw LimitExceeded($"The {what} of '{name[..Math.Min(name.Length, 256)]}...' is longer than {limits.MaxPathBytes} bytes.", name[..Math.Min(name.Length, 256)]);
        }
    }

    /// <summary>Reads a metadata entry's content (bounded by <paramref name="max"/>) and its padding.</summary>
    private async ValueTask<byte[]> ReadMetadataAsync(long size, long max, string what, string name, CancellationToken cancellationToken)
    {
        if (size > max)
        {
            throw LimitExceeded($"A {what} (of '{name}') declares {size} bytes; the limit is {Math.Max(max, 0)}.", name);
        }

        var content = new byte[size];
        if (await ReadAsync(content, cancellationToken).ConfigureAwait(false) < size)
        {
            throw Truncated(name, size);
        }

        await SkipAsync(Padding(size), name, cancellationToken).ConfigureAwait(false);
        return content;
    }

    private static string CString(byte[] bytes)
    {
        var end = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }

    private static long Padding(long size) => (BlockSize - (size % BlockSize)) % BlockSize;

    /// <summary>Fills <paramref name="destination"/> as far as the stream allows; fewer bytes only at its end.</summary>
    private async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = await ReadSomeAsync(destination[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private async ValueTask<int> ReadSomeAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (bufferStart == bufferEnd)
        {
            if (destination.Length >= BufferSize)
            {
                var direct = await source.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
                Position += direct;
                return direct;
            }

            bufferStart = 0;
            bufferEnd = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        return TakeBuffered(destination.Span);
    }

    private int ReadSome(Span<byte> destination)
    {
        if (bufferStart == bufferEnd)
        {
            if (destination.Length >= BufferSize)
            {
                var direct = source.Read(destination);
                Position += direct;
                return direct;
            }

            bufferStart = 0;
            bufferEnd = source.Read(buffer);
        }

        return TakeBuffered(destination);
    }

    private int TakeBuffered(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, bufferEnd - bufferStart);
        buffer.AsSpan(bufferStart, count).CopyTo(destination);
        bufferStart += count;
        Position += count;
        return count;
    }

    /// <summary>Consumes <paramref name="count"/> bytes: seeking over them in a seekable stream, else through the buffer.</summary>
    private async ValueTask SkipAsync(long count, string name, CancellationToken cancellationToken)
    {
        var buffered = Math.Min(count, bufferEnd - bufferStart);
        bufferStart += (int)buffered;
        Position += buffered;
        count -= buffered;
        if (count > 0 && source.CanSeek)
        {
            if (count > source.Length - source.Position)
            {
                throw Truncated(name, count - (source.Length - source.Position));
            }

            source.Seek(count, SeekOrigin.Current);
            Position += count;
            return;
        }

        while (count > 0)
        {
            if (bufferStart == bufferEnd)
            {
                bufferStart = 0;
                bufferEnd = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (bufferEnd == 0)
                {
                    throw Truncated(name, count);
                }
            }

            var take = (int)Math.Min(count, bufferEnd - bufferStart);
            bufferStart += take;
            Position += take;
            count -= take;
        }
    }

    private static TarArchiveException Truncated(string name, long missing) => new(
        TarArchiveError.Truncated,
        $"The archive ends inside '{name}': {missing} bytes it declares are missing.",
        name);

    private static TarArchiveException Malformed(string message, string? name) => new(TarArchiveError.Malformed, message, name);

    private static TarArchiveException LimitExceeded(string message, string? name) => new(TarArchiveError.LimitExceeded, message, name);

    /// <summary>Records of the PAX headers (and GNU long names) that precede an entry.</summary>
    private sealed class PendingRecords
    {
        private const string SchilyXattr = "SCHILY.xattr.";
        private const string LibarchiveXattr = "LIBARCHIVE.xattr.";
        private readonly Dictionary<string, byte[]> extendedAttributes = new(StringComparer.Ordinal);

        public long Bytes { get; private set; }

        public bool IsEmpty => Bytes == 0 && LongName is null && LongLink is null;

        public string? Path { get; private set; }

        public string? LinkPath { get; private set; }

        public string? LongName { get; set; }

        public string? LongLink { get; set; }

        public long? Size { get; private set; }

        public int? Uid { get; private set; }

        public int? Gid { get; private set; }

        public DateTimeOffset? ModificationTime { get; private set; }

        public IReadOnlyDictionary<string, byte[]> ExtendedAttributes => extendedAttributes;

        /// <summary>"LENGTH KEY=VALUE\n" records, LENGTH counting the whole record in bytes.</summary>
        public void Parse(ReadOnlySpan<byte> records, string name)
        {
            Bytes += records.Length;
            while (!records.IsEmpty)
            {
                if (records[0] == 0)
                {
                    return; // NUL padding some writers leave after the last record
                }

                var space = records.IndexOf((byte)' ');
                if (space <= 0 || !Utf8Parser.TryParse(records[..space], out int length, out var consumed) || consumed != space
                    || length <= space + 2 || length > records.Length || records[length - 1] != (byte)'\n')
                {
                    throw Malformed($"The PAX header of '{name}' has a malformed record.", name);
                }

                var record = records[(space + 1)..(length - 1)];
                records = records[length..];
                var equals = record.IndexOf((byte)'=');
                if (equals <= 0)
                {
                    throw Malformed($"The PAX header of '{name}' has a record without a key.", name);
                }

                Apply(Encoding.UTF8.GetString(record[..equals]), record[(equals + 1)..], name);
            }
        }

        private void Apply(string key, ReadOnlySpan<byte> value, string name)
        {
            switch (key)
            {
                case "path":
                    Path = value.IsEmpty ? null : Encoding.UTF8.GetString(value);
                    break;
                case "linkpath":
                    LinkPath = value.IsEmpty ? null : Encoding.UTF8.GetString(value);
                    break;
                case "size":
                    Size = Decimal(value, key, name);
                    break;
                case "uid":
                    Uid = Identifier(value, key, name);
                    break;
                case "gid":
                    Gid = Identifier(value, key, name);
                    break;
                case "mtime":
                    ModificationTime = ParseTime(value, name);
                    break;
                default:
                    if (key.StartsWith(SchilyXattr, StringComparison.Ordinal))
                    {
                        AddAttribute(key[SchilyXattr.Length..], value.ToArray(), name);
                    }
                    else if (key.StartsWith(LibarchiveXattr, StringComparison.Ordinal))
                    {
                        // libarchive's exact form (URL-encoded name, base64 value) wins over SCHILY's.
                        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(value.Length)];
                        if (Base64.DecodeFromUtf8(value, decoded, out _, out var written) != System.Buffers.OperationStatus.Done)
                        {
                            throw Malformed($"The PAX header of '{name}' has an xattr value that is not base64.", name);
                        }

                        AddAttribute(Uri.UnescapeDataString(key[LibarchiveXattr.Length..]), decoded[..written], name);
                    }
                    else if (key.StartsWith("GNU.sparse.", StringComparison.Ordinal))
                    {
                        throw new TarArchiveException(TarArchiveError.Unsupported, $"The entry '{name}' is a GNU sparse file, which is not supported.", name);
                    }

                    break;
            }
        }

        private void AddAttribute(string attribute, byte[] value, string name)
        {
            if (attribute.Length == 0 || attribute.Contains('\0'))
            {
                throw Malformed($"The PAX header of '{name}' has an xattr with an empty or NUL-bearing name.", name);
            }

            extendedAttributes[attribute] = value;
        }

        private static int Identifier(ReadOnlySpan<byte> value, string key, string name) =>
            Decimal(value, key, name) is var number and <= int.MaxValue ? (int)number : throw Malformed($"The PAX {key} of '{name}' is out of range.", name);

        private static long Decimal(ReadOnlySpan<byte> value, string key, string name) =>
            Utf8Parser.TryParse(value, out long number, out var consumed) && consumed == value.Length && number >= 0
                ? number
                : throw Malformed($"The PAX {key} of '{name}' is not a non-negative integer.", name);

        /// <summary>Seconds since the epoch with an optional fraction ("1700000000.123456789", possibly negative).</summary>
        private static DateTimeOffset ParseTime(ReadOnlySpan<byte> value, string name)
        {
            var text = Encoding.ASCII.GetString(value);
            var dot = text.IndexOf('.');
            var whole = dot < 0 ? text : text[..dot];
            var fraction = dot < 0 ? string.Empty : text[(dot + 1)..];
            if (!long.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
                || fraction.Any(c => c is < '0' or > '9'))
            {
                throw Malformed($"The PAX mtime of '{name}' is not a number.", name);
            }

            var nanoseconds = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
            return whole.StartsWith('-') && nanoseconds > 0 ? Time(seconds - 1, 1_000_000_000 - nanoseconds, name) : Time(seconds, nanoseconds, name);
        }
    }

    /// <summary>One entry's content: exactly its declared size, then nothing; the archive ending early is Truncated.</summary>
    private sealed class EntryStream(TarArchiveReader reader, string name, long size, long padding) : Stream
    {
        private readonly long size = size;

        public string Name { get; } = name;

        public long Remaining { get; private set; } = size;

        public long Padding { get; } = padding;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => size;

        public override long Position { get => size - Remaining; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            if (Remaining == 0 || destination.IsEmpty)
            {
                return 0;
            }

            var read = reader.ReadSome(destination[..(int)Math.Min(destination.Length, Remaining)]);
            return Consumed(read);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (Remaining == 0 || destination.IsEmpty)
            {
                return 0;
            }

            var read = await reader.ReadSomeAsync(destination[..(int)Math.Min(destination.Length, Remaining)], cancellationToken).ConfigureAwait(false);
            return Consumed(read);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Consumed(int read)
        {
            if (read == 0)
            {
                throw Truncated(Name, Remaining);
            }

            Remaining -= read;
            return read;
        }
    }
}
