using System.Globalization;
using System.Text;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Archives;

/// <summary>
/// Tar bytes written field by field, so a test can state anything a hostile archive could: sizes the data does not
/// match, PAX records with NUL bytes, GNU long names of any length. Headers are POSIX ustar with valid checksums
/// unless a test breaks them.
/// </summary>
public static class RawTar
{
    public const int Block = 512;

    public static byte[] Header(string name, char type, long size, string linkName = "", int mode = 0x1A4, int uid = 0, int gid = 0, long mtime = 1_700_000_000)
    {
        var header = new byte[Block];
        Encoding.UTF8.GetBytes(name).AsSpan(0, Math.Min(100, Encoding.UTF8.GetByteCount(name))).CopyTo(header);
        Octal(header, 100, 8, mode);
        Octal(header, 108, 8, uid);
        Octal(header, 116, 8, gid);
        if (size > 0x1_FFFF_FFFF)
        {
            header[124] = 0x80;
            for (var i = 0; i < 8; i++)
            {
                header[124 + 11 - i] = (byte)(size >> (8 * i));
            }
        }
        else
        {
            Octal(header, 124, 12, size);
        }

        Octal(header, 136, 12, mtime);
        header[156] = (byte)type;
        Encoding.UTF8.GetBytes(linkName).AsSpan(0, Math.Min(100, Encoding.UTF8.GetByteCount(linkName))).CopyTo(header.AsSpan(157));
        "ustar\0"u8.CopyTo(header.AsSpan(257));
        "00"u8.CopyTo(header.AsSpan(263));
        Seal(header);
        return header;
    }

    /// <summary>Recomputes the checksum field after a test changed header bytes.</summary>
    public static void Seal(byte[] header)
    {
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = header.Sum(b => (long)b);
        Octal(header, 148, 7, sum);
        header[155] = (byte)' ';
    }

    /// <summary>A PAX record: "LENGTH key=value\n", LENGTH counting itself.</summary>
    public static byte[] Record(string key, byte[] value)
    {
        var body = Encoding.UTF8.GetByteCount(key) + value.Length + 3;
        var length = body + body.ToString(CultureInfo.InvariantCulture).Length;
        if (length.ToString(CultureInfo.InvariantCulture).Length + body != length)
        {
            length++;
        }

        return [.. Encoding.UTF8.GetBytes($"{length} {key}="), .. value, (byte)'\n'];
    }

    public static byte[] Record(string key, string value) => Record(key, Encoding.UTF8.GetBytes(value));

    /// <summary>A PAX extended header ('x') holding <paramref name="records"/>, padded.</summary>
    public static byte[] Pax(params byte[][] records)
    {
        var data = records.SelectMany(record => record).ToArray();
        return [.. Header("PaxHeaders/entry", 'x', data.Length), .. Padded(data)];
    }

    public static byte[] File(string name, byte[] content, int mode = 0x1A4) => [.. Header(name, '0', content.Length, mode: mode), .. Padded(content)];

    public static byte[] File(string name, string content, int mode = 0x1A4) => File(name, Encoding.UTF8.GetBytes(content), mode);

    public static byte[] Padded(byte[] data) => [.. data, .. new byte[(Block - (data.Length % Block)) % Block]];

    public static byte[] End { get; } = new byte[2 * Block];

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(part => part).ToArray();

    private static void Octal(byte[] header, int offset, int length, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(header, offset);
        header[offset + length - 1] = 0;
    }
}

/// <summary>
/// A stream that serves a prefix and then <paramref name="fill"/> bytes of one value without holding them: how a
/// test hands a reader a multi-gigabyte header or file, and counts how much the reader took.
/// </summary>
public sealed class TarInputStream(byte[] prefix, long fill, byte value = (byte)'a', byte[]? suffix = null)
    : GeneratedStream(prefix.Length + fill + (suffix?.Length ?? 0))
{
    private readonly byte[] tail = suffix ?? [];

    protected override void Generate(Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var at = offset + done;
            int take;
            if (at < prefix.Length)
            {
                take = (int)Math.Min(buffer.Length - done, prefix.Length - at);
                prefix.AsSpan((int)at, take).CopyTo(buffer[done..]);
            }
            else if (at < prefix.Length + fill)
            {
                take = (int)Math.Min(buffer.Length - done, prefix.Length + fill - at);
                buffer.Slice(done, take).Fill(value);
            }
            else
            {
                take = buffer.Length - done;
                tail.AsSpan((int)(at - prefix.Length - fill), take).CopyTo(buffer[done..]);
            }

            done += take;
        }
    }
}
