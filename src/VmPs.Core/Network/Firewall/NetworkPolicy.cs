using System.Globalization;

namespace VmPs.Core.Network.Firewall;

/// <summary>Where in the packet path a policy chain hooks in.</summary>
internal enum FirewallHook
{
    /// <summary>Filter of routed traffic.</summary>
    Forward,

    /// <summary>Filter of traffic to the host itself.</summary>
    Input,

    /// <summary>Destination NAT of traffic arriving from outside or from VMs.</summary>
    Prerouting,

    /// <summary>Destination NAT of traffic the host sends itself.</summary>
    Output,

    /// <summary>Source NAT of traffic leaving.</summary>
    Postrouting,
}

/// <summary>A published port of a VM with the address it is published to.</summary>
internal sealed record PublishedPort(PortMappingRecord Mapping, uint VmAddress);

/// <summary>The rules one hook gets for a network, in order.</summary>
internal sealed record PolicyChain(FirewallHook Hook, IReadOnlyList<FirewallRule> Rules);

/// <summary>
/// Everything the firewall must do for one VmPs network: NAT, isolation, published ports and the
/// sending half of bandwidth limits. Built from the rows alone, so a firewall can always be brought
/// back to it.
/// </summary>
internal sealed record NetworkPolicy(NetworkRecord Network, IReadOnlyList<PolicyChain> Chains)
{
    /// <summary>Every VmPs rule's comment starts with this, so a ruleset listing shows which rules are VmPs's.</summary>
    public const string CommentPrefix = "vmps:";

    /// <summary>The network's rules given its published ports and its bandwidth-limited adapters.</summary>
    public static NetworkPolicy For(NetworkRecord network, IReadOnlyList<PublishedPort> ports, IReadOnlyList<AdapterRecord> limited)
    {
        var bridge = network.Bridge;
        string Tag(string purpose) => $"{CommentPrefix}{network.Name}:{purpose}";

        var policing = limited.Select(adapter => Limit(adapter, Tag)).ToList();
        var forward = new List<FirewallRule>(policing)
        {
            new AcceptEstablishedRule(Tag("established")),
            new AcceptPublishedRule(bridge, Tag("published")),
        };
        if (!network.Isolated)
        {
            forward.Add(new AcceptWithinBridgeRule(bridge, Tag("bridge")));
        }

        forward.Add(new DropInboundRule(bridge, Tag("inbound")));
        forward.Add(new DropIpv6Rule(bridge, Tag("ipv6")));
        if (!network.Nat)
        {
            forward.Add(new DropOutboundRule(bridge, null, Tag("host-only")));
        }
        else if (network.Uplink is { } uplink)
        {
            forward.Add(new DropOutboundRule(bridge, uplink, Tag("uplink-only")));
        }

        var input = new List<FirewallRule>(policing)
        {
            new AcceptEstablishedRule(Tag("established")),
            new DropToHostRule(bridge, network.Gateway, Tag("host-addresses")),
            new DropIpv6Rule(bridge, Tag("ipv6")),
        };

        var published = ports.Select(port => Publish(port, Tag)).ToList();

        var postrouting = new List<FirewallRule>();
        if (network.Nat)
        {
            postrouting.Add(new MasqueradeRule(network.Subnet, bridge, network.Uplink, Tag("masquerade")));
        }

        postrouting.Add(new MasqueradeHairpinRule(network.Subnet, bridge, Tag("hairpin")));

        return new NetworkPolicy(
            network,
            [
                new(FirewallHook.Forward, forward),
                new(FirewallHook.Input, input),
                new(FirewallHook.Prerouting, published),
                new(FirewallHook.Output, published),
                new(FirewallHook.Postrouting, postrouting),
            ]);
    }

    /// <summary>The short id that names a network's chains (its bridge name without the prefix).</summary>
    public static string ChainId(NetworkRecord network) => network.Bridge[NetworkStore.BridgePrefix.Length..];

    private static LimitSourceRule Limit(AdapterRecord adapter, Func<string, string> tag) => new(
        adapter.Address,
        adapter.MaxBandwidthMbps!.Value * 125L,
        tag(string.Create(CultureInfo.InvariantCulture, $"vm={adapter.VmId:N}:limit")));

    private static PublishPortRule Publish(PublishedPort port, Func<string, string> tag)
    {
        var mapping = port.Mapping;
        return new(mapping, port.VmAddress, tag(string.Create(CultureInfo.InvariantCulture, $"vm={mapping.VmId:N}:{Protocol(mapping.Protocol)}/{mapping.HostPort}")));
    }

    /// <summary>The protocol as both firewalls spell it.</summary>
    public static string Protocol(PortProtocol protocol) => protocol == PortProtocol.Tcp ? "tcp" : "udp";
}
