using System.Text.RegularExpressions;

namespace VmPs.Core.Network;

/// <summary>Turns New-VmNetwork's options into a network row, or a specific error.</summary>
internal static partial class NetworkValidation
{
    private const int MinimumPrefix = 8;
    private const int MaximumPrefix = 30;
    private const int MinimumMtu = 576;
    private const int MaximumMtu = 65535;

    /// <summary>A row with everything but its id, bridge and creation time.</summary>
    public static NetworkRecord Validate(NetworkCreateOptions options)
    {
        if (!NamePattern().IsMatch(options.Name))
        {
            throw NetworkErrors.InvalidName(options.Name);
        }

        var subnet = Ipv4Subnet.TryParse(options.Subnet, out var error) ?? throw NetworkErrors.InvalidSubnet(options.Subnet, error!);
        if (subnet.PrefixLength is < MinimumPrefix or > MaximumPrefix)
        {
            throw NetworkErrors.InvalidSubnet(options.Subnet, $"the prefix /{subnet.PrefixLength} is outside /{MinimumPrefix} to /{MaximumPrefix}");
        }

        var gateway = subnet.FirstHost;
        if (options.Gateway is { } requested)
        {
            gateway = Ipv4Subnet.TryParseAddress(requested) ?? throw NetworkErrors.InvalidAddress("gateway", requested);
            if (!subnet.Contains(gateway) || gateway == subnet.Network || gateway == subnet.Broadcast)
            {
                throw NetworkErrors.AddressOutOfSubnet(requested, subnet.ToString(), "gateway");
            }
        }

        foreach (var server in options.Dns)
        {
            _ = Ipv4Subnet.TryParseAddress(server) ?? throw NetworkErrors.InvalidAddress("DNS server", server);
        }

        var mtu = options.Mtu ?? NetworkManager.DefaultMtu;
        if (mtu is < MinimumMtu or > MaximumMtu)
        {
            throw new VmPsException(VmPsErrorIds.InvalidMtu, VmPsErrorKind.InvalidArgument, $"The MTU {mtu} is outside {MinimumMtu} to {MaximumMtu}.", mtu);
        }

        if (options.UplinkInterface is { } uplink && !InterfaceNamePattern().IsMatch(uplink))
        {
            throw new VmPsException(VmPsErrorIds.UplinkNotFound, VmPsErrorKind.InvalidArgument, $"'{uplink}' is not an interface name.", uplink);
        }

        return new NetworkRecord(
            Guid.Empty,
            options.Name,
            string.Empty,
            subnet,
            gateway,
            options.Nat,
            options.Isolated,
            options.Dns.Count > 0 ? options.Dns.ToList() : NetworkManager.DefaultDns,
            options.UplinkInterface,
            mtu,
            default);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}\\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[^/\\s\"]{1,15}\\z")]
    private static partial Regex InterfaceNamePattern();
}
