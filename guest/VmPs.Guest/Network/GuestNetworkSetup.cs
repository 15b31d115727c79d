using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Network;

/// <summary>A <see cref="GuestNetworkConfig"/> checked and parsed: every address is IPv4 and the prefix and MTU are in range.</summary>
internal sealed record GuestNetworkSetup(string MacAddress, IPAddress Address, int PrefixLength, IPAddress? Gateway, IReadOnlyList<IPAddress> Dns, int Mtu)
{
    private const int MinimumMtu = 68;
    private const int MaximumMtu = 65535;

    public static GuestNetworkSetup Parse(GuestNetworkConfig config)
    {
        if (config.PrefixLength is < 1 or > 32)
        {
            throw BadRequest($"Prefix length {config.PrefixLength} is not between 1 and 32.");
        }

        if (config.Mtu is < MinimumMtu or > MaximumMtu)
        {
            throw BadRequest($"MTU {config.Mtu} is not between {MinimumMtu} and {MaximumMtu}.");
        }

        if (config.MacAddress.Length == 0)
        {
            throw BadRequest("The network configuration has no MAC address.");
        }

        return new GuestNetworkSetup(
            config.MacAddress.ToLowerInvariant(),
            ParseIPv4(config.Address, "address"),
            config.PrefixLength,
            config.Gateway is { Length: > 0 } gateway ? ParseIPv4(gateway, "gateway") : null,
            config.Dns.Select(server => ParseIPv4(server, "DNS server")).ToArray(),
            config.Mtu);
    }

    /// <summary>The address as the kernel's in_addr.s_addr holds it (network byte order in memory).</summary>
    public static uint ToInAddr(IPAddress? address) =>
        address is null ? 0 : BitConverter.ToUInt32(address.GetAddressBytes());

    public uint Netmask
    {
        get
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, uint.MaxValue << (32 - PrefixLength));
            return BitConverter.ToUInt32(bytes);
        }
    }

    private static IPAddress ParseIPv4(string text, string what) =>
        IPAddress.TryParse(text, out var address) && address.AddressFamily == AddressFamily.InterNetwork
            ? address
            : throw BadRequest($"'{text}' is not an IPv4 {what}.");

    private static GuestException BadRequest(string message) => new(ErrorCodes.BadRequest, message);
}
