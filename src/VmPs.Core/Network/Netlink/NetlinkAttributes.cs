using System.Buffers.Binary;
using System.Text;

namespace VmPs.Core.Network.Netlink;

/// <summary>The route attributes of one reply, by type (the nested flag stripped).</summary>
internal sealed class NetlinkAttributes
{
    private readonly Dictionary<ushort, ReadOnlyMemory<byte>> values = [];

    public NetlinkAttributes(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        var offset = 0;
        while (offset + 4 <= span.Length)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
            var type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 2)..]) & 0x3fff);
            if (length < 4 || offset + length > span.Length)
            {
                break;
            }

            values.TryAdd(type, data.Slice(offset + 4, length - 4));
            offset += (length + 3) & ~3;
        }
    }

    public bool Has(ushort type) => values.ContainsKey(type);

    public string? String(ushort type) =>
        values.TryGetValue(type, out var value) ? Encoding.ASCII.GetString(value.Span).TrimEnd('\0') : null;

    public uint? UInt32(ushort type) =>
        values.TryGetValue(type, out var value) && value.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(value.Span) : null;

    public byte? Byte(ushort type) =>
        values.TryGetValue(type, out var value) && value.Length >= 1 ? value.Span[0] : null;

    /// <summary>An IPv4 address attribute, in host byte order.</summary>
    public uint? Ipv4(ushort type) =>
        values.TryGetValue(type, out var value) && value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value.Span) : null;

    public NetlinkAttributes? Nested(ushort type) =>
        values.TryGetValue(type, out var value) ? new NetlinkAttributes(value) : null;
}
