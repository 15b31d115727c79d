using VmPs.Core.Network.Netlink;

namespace VmPs.Core.Network;

/// <summary>
/// Brings a network's bridge and its VMs' TAPs to the state the rows describe, creating or fixing
/// only what differs. Synchronous: runs on the network namespace's thread, which is also where
/// the /proc/sys/net files it writes belong.
/// </summary>
internal sealed class HostInterfaces : IDisposable
{
    private const string ForwardingSetting = "/proc/sys/net/ipv4/ip_forward";

    private readonly RouteNetlink netlink = new();
    private readonly Dictionary<string, LinkEntry> links;
    private readonly List<AddressEntry> addresses;

    public HostInterfaces()
    {
        links = netlink.GetLinks().ToDictionary(link => link.Name, StringComparer.Ordinal);
        addresses = netlink.GetAddresses();
    }

    public bool Exists(string name) => links.ContainsKey(name);

    /// <summary>Bridge up with the network's MTU and gateway address; IP forwarding on; 127.0.0.1 DNAT allowed to leave through it.</summary>
    public LinkEntry EnsureBridge(NetworkRecord network)
    {
        var bridge = Find(network.Bridge);
        if (bridge is null)
        {
            try
            {
                netlink.CreateBridge(network.Bridge, network.Mtu);
            }
            catch (NetlinkException ex) when (ex.Errno == NetlinkException.Exists)
            {
                // Another session created it a moment ago.
            }

            bridge = Refresh(network.Bridge);
        }

        if (!bridge.IsUp || bridge.Mtu != network.Mtu)
        {
            netlink.Configure(bridge, network.Mtu);
            bridge = Refresh(network.Bridge);
        }

        if (!addresses.Any(a => a.InterfaceIndex == bridge.Index && a.Address == network.Gateway && a.PrefixLength == network.Subnet.PrefixLength))
        {
            try
            {
                netlink.AddAddress(bridge, network.Gateway, network.Subnet);
            }
            catch (NetlinkException ex) when (ex.Errno == NetlinkException.Exists)
            {
                // Added concurrently.
            }

        }

        EnableForwarding();
        Sysctl.Ensure($"/proc/sys/net/ipv4/conf/{network.Bridge}/route_localnet", "1");
        return bridge;
    }

    /// <summary>The adapter's persistent TAP, up, on the bridge, isolated as the network says. True when it had to be created.</summary>
    public bool EnsureTap(NetworkRecord network, LinkEntry bridge, AdapterRecord adapter)
    {
        var created = false;
        var tap = Find(adapter.Tap);
        if (tap is null)
        {
            TapDevice.CreatePersistent(adapter.Tap);
            created = true;
            tap = Refresh(adapter.Tap);
        }

        if (!tap.IsUp || tap.Mtu != network.Mtu || tap.MasterIndex != bridge.Index)
        {
            netlink.Configure(tap, network.Mtu, bridge.Index);
            tap = Refresh(adapter.Tap);
        }

        if (created || netlink.IsBridgePortIsolated(tap) != network.Isolated)
        {
            netlink.SetBridgePortIsolated(tap, network.Isolated);
        }

        return created;
    }

    /// <summary>Deletes the interface if it exists.</summary>
    public void Delete(string name)
    {
        netlink.DeleteLinkIfExists(name);
        links.Remove(name);
    }

    /// <summary>Host routes (not the default route, not VmPs bridges) that overlap <paramref name="subnet"/>.</summary>
    public List<(RouteEntry Route, string? Interface)> OverlappingRoutes(Ipv4Subnet subnet)
    {
        var names = links.Values.ToDictionary(link => link.Index, link => link.Name);
        return netlink.GetRoutes()
            .Where(route => route.Destination.PrefixLength > 0 && route.Destination.Overlaps(subnet))
            .Select(route => (route, route.OutputInterfaceIndex is { } index ? names.GetValueOrDefault(index) : null))
            .Where(entry => entry.Item2 is null || !entry.Item2.StartsWith(NetworkStore.BridgePrefix, StringComparison.Ordinal))
            .ToList();
    }

    /// <summary>Every non-default route destination, for suggesting a free subnet.</summary>
    public List<Ipv4Subnet> RouteDestinations() =>
        netlink.GetRoutes().Where(route => route.Destination.PrefixLength > 0).Select(route => route.Destination).ToList();

    public void Dispose() => netlink.Dispose();

    /// <summary>VMs' traffic is routed by the host: IPv4 forwarding must be on (in this namespace).</summary>
    private static void EnableForwarding()
    {
        try
        {
            Sysctl.Ensure(ForwardingSetting, "1");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new VmPsException(
                "IpForwardingDisabled",
                VmPsErrorKind.PermissionDenied,
                $"IPv4 forwarding (net.ipv4.ip_forward) is off and VmPs cannot turn it on: {ex.Message}",
                ForwardingSetting,
                ex)
            {
                RecommendedAction = "Run as root, or turn it on once with 'sysctl -w net.ipv4.ip_forward=1' (and persist it in /etc/sysctl.d).",
            };
        }
    }

    private LinkEntry? Find(string name) => links.GetValueOrDefault(name);

    private LinkEntry Refresh(string name)
    {
        var link = netlink.FindLink(name) ?? throw new VmPsException(
            "HostNetworkFailed",
            VmPsErrorKind.InvalidOperation,
            $"The interface '{name}' vanished while VmPs was configuring it.",
            name);
        links[name] = link;
        return link;
    }
}

/// <summary>Reads and writes /proc/sys values of the calling thread's network namespace.</summary>
internal static class Sysctl
{
    public static void Ensure(string path, string value)
    {
        if (File.ReadAllText(path).Trim() != value)
        {
            File.WriteAllText(path, value);
        }
    }
}
