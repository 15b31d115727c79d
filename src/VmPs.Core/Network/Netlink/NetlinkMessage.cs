using System.Buffers.Binary;
using System.Text;

namespace VmPs.Core.Network.Netlink;

/// <summary>
/// Builds one netlink request: the 16-byte nlmsghdr, a fixed family header, then route
/// attributes (4-byte aligned, nestable). Lengths are patched in when a message or nest closes.
/// </summary>
internal sealed class NetlinkMessage
{
    public const int HeaderLength = 16;
    private const ushort NestedFlag = 0x8000;

    private readonly List<byte> buffer = new(256);
    private readonly Stack<int> openNests = new();

    public NetlinkMessage(ushort type, ushort flags)
    {
        Append(new byte[HeaderLength]);
        WriteUInt16(4, type);
        WriteUInt16(6, flags);
    }

    /// <summary>struct ifinfomsg: family, type, index, flags, change.</summary>
    public NetlinkMessage InterfaceHeader(byte family, int index, uint flags = 0, uint change = 0)
    {
        var header = new byte[16];
        header[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), index);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), change);
        return Append(header);
    }

    /// <summary>struct ifaddrmsg: family, prefix length, flags, scope, index.</summary>
    public NetlinkMessage AddressHeader(byte family, byte prefixLength, int index)
    {
        var header = new byte[8];
        header[0] = family;
        header[1] = prefixLength;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), index);
        return Append(header);
    }

    /// <summary>struct rtmsg, zeroed but for the family: a dump request for every table.</summary>
    public NetlinkMessage RouteHeader(byte family)
    {
        var header = new byte[12];
        header[0] = family;
        return Append(header);
    }

    public NetlinkMessage Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        var start = buffer.Count;
        Append(new byte[4]);
        Append(value.ToArray());
        BinaryPrimitives.WriteUInt16LittleEndian(Span(start, 2), (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(Span(start + 2, 2), type);
        Pad();
        return this;
    }

    public NetlinkMessage Attribute(ushort type, string value)
    {
        var bytes = new byte[Encoding.ASCII.GetByteCount(value) + 1];
        Encoding.ASCII.GetBytes(value, bytes);
        return Attribute(type, bytes);
    }

    public NetlinkMessage Attribute(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Attribute(type, bytes);
    }

    public NetlinkMessage Attribute(ushort type, byte value) => Attribute(type, [value]);

    public NetlinkMessage BeginNested(ushort type)
    {
        openNests.Push(buffer.Count);
        Append(new byte[4]);
        BinaryPrimitives.WriteUInt16LittleEndian(Span(buffer.Count - 2, 2), (ushort)(type | NestedFlag));
        return this;
    }

    public NetlinkMessage EndNested()
    {
        var start = openNests.Pop();
        BinaryPrimitives.WriteUInt16LittleEndian(Span(start, 2), (ushort)(buffer.Count - start));
        return this;
    }

    public byte[] ToArray(uint sequence)
    {
        var bytes = buffer.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), sequence);
        return bytes;
    }

    private NetlinkMessage Append(byte[] bytes)
    {
        buffer.AddRange(bytes);
        return this;
    }

    private void Pad()
    {
        while (buffer.Count % 4 != 0)
        {
            buffer.Add(0);
        }
    }

    private void WriteUInt16(int offset, ushort value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(Span(offset, 2), value);

    private Span<byte> Span(int offset, int length) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer).Slice(offset, length);
}
