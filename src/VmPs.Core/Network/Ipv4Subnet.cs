using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VmPs.Core.Network;

/// <summary>An IPv4 prefix in host byte order, with the address arithmetic allocation needs.</summary>
internal readonly record struct Ipv4Subnet(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);

    public uint Broadcast => Network | ~Mask;

    public uint FirstHost => Network + 1;

    public uint LastHost => Broadcast - 1;

    /// <summary>Addresses a host can have: all but the network and broadcast addresses.</summary>
    public long HostCount => (long)LastHost - FirstHost + 1;

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Overlaps(Ipv4Subnet other)
    {
        var shorter = Math.Min(PrefixLength, other.PrefixLength);
        var mask = shorter == 0 ? 0 : uint.MaxValue << (32 - shorter);
        return (Network & mask) == (other.Network & mask);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{FormatAddress(Network)}/{PrefixLength}");

    /// <summary>Parses "a.b.c.d/n"; null when it is not IPv4 CIDR or has host bits set (<paramref name="error"/> says which).</summary>
    public static Ipv4Subnet? TryParse(string text, out string? error)
    {
        error = null;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0
            || TryParseAddress(text[..slash]) is not { } address
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || prefix > 32)
        {
            error = "it is not IPv4 CIDR notation (a.b.c.d/n)";
            return null;
        }

        var subnet = new Ipv4Subnet(address, prefix);
        if ((address & subnet.Mask) != address)
        {
            error = $"host bits are set; the network is {new Ipv4Subnet(address & subnet.Mask, prefix)}";
            return null;
        }

        return subnet;
    }

    public static uint? TryParseAddress(string text)
    {
        if (!IPAddress.TryParse(text, out var parsed)
            || parsed.AddressFamily != AddressFamily.InterNetwork
            || text.Count(c => c == '.') != 3)
        {
            return null;
        }

        var bytes = parsed.GetAddressBytes();
        return (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
    }

    public static string FormatAddress(uint address) => string.Create(
        CultureInfo.InvariantCulture,
        $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");

    /// <summary>Network byte order, as netlink and sockets want it.</summary>
    public static byte[] AddressBytes(uint address) =>
        [(byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address];
}
