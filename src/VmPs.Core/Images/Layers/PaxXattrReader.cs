using System.Buffers.Text;
using System.Text;

namespace VmPs.Core.Images.Layers;

/// <summary>
/// Watches the tar stream as TarReader reads it and keeps the raw bytes of SCHILY.xattr.* PAX records.
/// System.Formats.Tar decodes PAX values as UTF-8, which corrupts binary values such as security.capability;
/// Go's archive/tar (docker, buildkit, containerd) writes them raw. TarReader reads an entry's headers and no
/// further before returning it, so when an entry is handed out, <see cref="Current"/> holds that entry's xattrs.
/// </summary>
internal sealed class PaxXattrReader(Stream inner) : Stream
{
    private const int BlockSize = 512;
    private const string XattrPrefix = "SCHILY.xattr.";

    private readonly byte[] header = new byte[BlockSize];
    private int headerFilled;
    private long dataRemaining;
    private long paddingRemaining;
    private MemoryStream? paxData;
    private Dictionary<string, byte[]> pending = new(StringComparer.Ordinal);
    private long? pendingSize;

    /// <summary>The xattrs of the last entry whose header has been read.</summary>
    public IReadOnlyDictionary<string, byte[]> Current { get; private set; } = new Dictionary<string, byte[]>();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Observe(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span[..read]);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (dataRemaining > 0)
            {
                var take = (int)Math.Min(dataRemaining, bytes.Length);
                paxData?.Write(bytes[..take]);
                dataRemaining -= take;
                bytes = bytes[take..];
                if (dataRemaining == 0 && paxData is not null)
                {
                    ParseRecords(paxData.ToArray());
                    paxData = null;
                }
            }
            else if (paddingRemaining > 0)
            {
                var take = (int)Math.Min(paddingRemaining, bytes.Length);
                paddingRemaining -= take;
                bytes = bytes[take..];
            }
            else
            {
                var take = Math.Min(BlockSize - headerFilled, bytes.Length);
                bytes[..take].CopyTo(header.AsSpan(headerFilled));
                headerFilled += take;
                bytes = bytes[take..];
                if (headerFilled == BlockSize)
                {
                    headerFilled = 0;
                    OnHeader();
                }
            }
        }
    }

    private void OnHeader()
    {
        if (header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return;
        }

        var type = (char)header[156];
        var size = HeaderSize();
        switch (type)
        {
            case 'x':
                paxData = new MemoryStream();
                break;
            case 'g' or 'L' or 'K':
                break;
            default:
                size = pendingSize ?? size;
                Current = pending;
                pending = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                pendingSize = null;
                if (type is '1' or '2' or '3' or '4' or '5' or '6')
                {
                    size = 0;
                }

                break;
        }

        dataRemaining = size;
        paddingRemaining = (BlockSize - (size % BlockSize)) % BlockSize;
        if (size == 0 && paxData is not null)
        {
            paxData = null;
        }
    }

    /// <summary>The size field: octal text, or big-endian binary when its first byte has the high bit set.</summary>
    private long HeaderSize()
    {
        var field = header.AsSpan(124, 12);
        if ((field[0] & 0x80) != 0)
        {
            long value = field[0] & 0x7F;
            foreach (var b in field[1..])
            {
                value = (value << 8) | b;
            }

            return value;
        }

        long octal = 0;
        foreach (var b in field)
        {
            if (b is >= (byte)'0' and <= (byte)'7')
            {
                octal = (octal * 8) + (b - '0');
            }
            else if (b is 0 or (byte)' ' && octal > 0)
            {
                break;
            }
        }

        return octal;
    }

    /// <summary>PAX records: "LENGTH KEY=VALUE\n", LENGTH counting the whole record.</summary>
    private void ParseRecords(ReadOnlySpan<byte> records)
    {
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !Utf8Parser.TryParse(records[..space], out int length, out _) || length <= space || length > records.Length)
            {
                return;
            }

            var record = records[(space + 1)..(length - 1)];
            records = records[length..];
            var equals = record.IndexOf((byte)'=');
            if (equals <= 0)
            {
                continue;
            }

            var key = Encoding.UTF8.GetString(record[..equals]);
            var value = record[(equals + 1)..];
            if (key.StartsWith(XattrPrefix, StringComparison.Ordinal))
            {
                pending[key[XattrPrefix.Length..]] = value.ToArray();
            }
            else if (key == "size" && Utf8Parser.TryParse(value, out long size, out _))
            {
                pendingSize = size;
            }
        }
    }
}
