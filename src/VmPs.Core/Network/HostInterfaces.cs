using VmPs.Core.Network.Netlink;

namespace VmPs.Core.Network;

/// <summary>
/// Compares a network's bridge and its VMs' TAPs with the rows (Inspect*), and brings them to the
/// state the rows describe, creating or fixing only what differs (Ensure*, Repair*). Synchronous:
/// runs on the network namespace's thread, which is also where the /proc/sys/net files it reads and
/// writes belong.
/// </summary>
internal sealed class HostInterfaces : IDisposable
{
    private const string ForwardingSetting = "/proc/sys/net/ipv4/ip_forward";

    private readonly RouteNetlink netlink = new();
    private readonly Dictionary<string, LinkEntry> links;
    private readonly List<AddressEntry> addresses;
    private Dictionary<int, bool>? isolatedPorts;

    public HostInterfaces()
    {
        links = netlink.GetLinks().ToDictionary(link => link.Name, StringComparer.Ordinal);
        addresses = netlink.GetAddresses();
    }

    public bool Exists(string name) => links.ContainsKey(name);

    /// <summary>How the network's bridge, its gateway address and the forwarding settings differ from the row; nothing is changed.</summary>
    public List<HostDrift> InspectBridge(NetworkRecord network)
    {
        var drift = new List<HostDrift>();
        if (Sysctl.Read(ForwardingSetting) != "1")
        {
            drift.Add(new("IPv4 forwarding (net.ipv4.ip_forward) is off", "turn on IPv4 forwarding"));
        }

        var name = network.Bridge;
        var gateway = $"{Ipv4Subnet.FormatAddress(network.Gateway)}/{network.Subnet.PrefixLength}";
        if (Find(name) is not { } bridge)
        {
            drift.Add(new($"bridge {name} is missing", $"create bridge {name} with {gateway}"));
            return drift;
        }

        if (!bridge.IsUp || bridge.Mtu != network.Mtu)
        {
            drift.Add(new($"bridge {name} is {(bridge.IsUp ? "up" : "down")} with MTU {bridge.Mtu}", $"bring bridge {name} up with MTU {network.Mtu}"));
        }

        if (!HasGatewayAddress(bridge, network))
        {
            drift.Add(new($"bridge {name} lacks the gateway address {gateway}", $"add {gateway} to bridge {name}"));
        }

        if (Sysctl.Read(RouteLocalnetSetting(network)) != "1")
        {
            drift.Add(new($"route_localnet is off on bridge {name} (published ports do not answer on 127.0.0.1)", $"turn on route_localnet on bridge {name}"));
        }

        return drift;
    }

    /// <summary>The adapter's TAP as found, and what is wrong with it; nothing is changed.</summary>
    public AdapterHealth InspectTap(NetworkRecord network, AdapterRecord adapter)
    {
        var tap = Find(adapter.Tap);
        var owner = $"TAP {adapter.Tap} of VM '{adapter.VmName}'";
        if (!adapter.Plugged)
        {
            return tap is null
                ? new(adapter, tap, NetworkAdapterStatus.Unplugged, null)
                : new(adapter, tap, NetworkAdapterStatus.Leftover, $"{owner} is still on the host although the adapter is unplugged");
        }

        if (tap is null)
        {
            return new(adapter, tap, NetworkAdapterStatus.Detached, $"{owner} is missing, so the VM has no network");
        }

        if (!tap.HasCarrier)
        {
            return new(adapter, tap, NetworkAdapterStatus.Detached, $"no hypervisor is attached to {owner}, so the VM has no network");
        }

        var faults = TapFaults(network, tap);
        return faults.Count == 0
            ? new(adapter, tap, NetworkAdapterStatus.Connected, null)
            : new(adapter, tap, NetworkAdapterStatus.Degraded, $"{owner} is {string.Join(", ", faults)}");
    }

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

        if (!HasGatewayAddress(bridge, network))
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
        Sysctl.Ensure(RouteLocalnetSetting(network), "1");
        return bridge;
    }

    /// <summary>For the VM being plugged: its persistent TAP (created when missing), up, on the bridge, isolated as the network says.</summary>
    public void EnsureTap(NetworkRecord network, LinkEntry bridge, AdapterRecord adapter)
    {
        if (Find(adapter.Tap) is null)
        {
            TapDevice.CreatePersistent(adapter.Tap);
        }

        Configure(network, bridge, Refresh(adapter.Tap));
    }

    /// <summary>
    /// For a plugged adapter of a VM that is not being plugged now: its TAP is set right only while a
    /// hypervisor is attached to it. A missing TAP is not recreated, nor is one nobody is attached to
    /// touched: a new TAP would not reach the running hypervisor, only pretend the VM had a network.
    /// </summary>
    public void RepairAttachedTap(NetworkRecord network, LinkEntry bridge, AdapterRecord adapter)
    {
        if (Find(adapter.Tap) is { HasCarrier: true } tap)
        {
            Configure(network, bridge, tap);
        }
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

    private static string RouteLocalnetSetting(NetworkRecord network) => $"/proc/sys/net/ipv4/conf/{network.Bridge}/route_localnet";

    private bool HasGatewayAddress(LinkEntry bridge, NetworkRecord network) =>
        addresses.Any(a => a.InterfaceIndex == bridge.Index && a.Address == network.Gateway && a.PrefixLength == network.Subnet.PrefixLength);

    /// <summary>How the TAP differs from a port of the network's bridge: up, at the network's MTU, isolated as the network says.</summary>
    private List<string> TapFaults(NetworkRecord network, LinkEntry tap)
    {
        var faults = new List<string>();
        if (Find(network.Bridge) is not { } bridge || tap.MasterIndex != bridge.Index)
        {
            faults.Add($"not on bridge {network.Bridge}");
        }
        else if (IsIsolated(tap) != network.Isolated)
        {
            faults.Add(network.Isolated ? "not isolated" : "isolated");
        }

        if (!tap.IsUp)
        {
            faults.Add("down");
        }

        if (tap.Mtu != network.Mtu)
        {
            faults.Add($"at MTU {tap.Mtu} instead of {network.Mtu}");
        }

        return faults;
    }

    private void Configure(NetworkRecord network, LinkEntry bridge, LinkEntry tap)
    {
        if (!tap.IsUp || tap.Mtu != network.Mtu || tap.MasterIndex != bridge.Index)
        {
            netlink.Configure(tap, network.Mtu, bridge.Index);
            tap = Refresh(tap.Name);
            isolatedPorts = null;
        }

        if (IsIsolated(tap) != network.Isolated)
        {
            netlink.SetBridgePortIsolated(tap, network.Isolated);
            isolatedPorts = null;
        }
    }

    /// <summary>Whether the bridge port is isolated (false for an interface on no bridge).</summary>
    private bool IsIsolated(LinkEntry port) => (isolatedPorts ??= netlink.IsolatedBridgePorts()).GetValueOrDefault(port.Index);

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
                VmPsErrorIds.IpForwardingDisabled,
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
            VmPsErrorIds.HostNetworkFailed,
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
    /// <summary>The value, or null when the setting does not exist (an interface that is gone).</summary>
    public static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    public static void Ensure(string path, string value)
    {
        if (Read(path) != value)
        {
            File.WriteAllText(path, value);
        }
    }
}
