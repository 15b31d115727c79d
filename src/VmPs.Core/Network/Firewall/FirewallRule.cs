namespace VmPs.Core.Network.Firewall;

/// <summary>
/// One rule of a network's policy, independent of the firewall that enforces it. Every rule carries
/// the comment (`vmps:&lt;network&gt;:&lt;purpose&gt;`) that tags it on the host, so rules can be listed,
/// compared with the policy and removed exactly.
/// </summary>
internal abstract record FirewallRule(string Comment);

/// <summary>Drops what a bandwidth-limited VM sends above its rate (tc shapes only what it receives).</summary>
internal sealed record LimitSourceRule(uint Address, long KilobytesPerSecond, string Comment) : FirewallRule(Comment);

/// <summary>Accepts replies and related traffic of connections already allowed.</summary>
internal sealed record AcceptEstablishedRule(string Comment) : FirewallRule(Comment);

/// <summary>Accepts connections DNAT'd to a published port behind <paramref name="Bridge"/>.</summary>
internal sealed record AcceptPublishedRule(string Bridge, string Comment) : FirewallRule(Comment);

/// <summary>Accepts traffic between two VMs on the same bridge.</summary>
internal sealed record AcceptWithinBridgeRule(string Bridge, string Comment) : FirewallRule(Comment);

/// <summary>Drops any other connection toward the network's VMs.</summary>
internal sealed record DropInboundRule(string Bridge, string Comment) : FirewallRule(Comment);

/// <summary>Drops what the VMs send to be forwarded, except out through <paramref name="AllowedUplink"/> when one is given.</summary>
internal sealed record DropOutboundRule(string Bridge, string? AllowedUplink, string Comment) : FirewallRule(Comment);

/// <summary>Drops what the VMs send to any host address but their gateway.</summary>
internal sealed record DropToHostRule(string Bridge, uint Gateway, string Comment) : FirewallRule(Comment);

/// <summary>
/// Drops IPv6 from the VMs: VmPs networks are IPv4 networks, so the host neither accepts IPv6 from
/// them nor routes it (traffic between VMs on one bridge is bridged, not routed, and stays).
/// </summary>
internal sealed record DropIpv6Rule(string Bridge, string Comment) : FirewallRule(Comment);

/// <summary>Rewrites connections to a published host port to the VM's address and port.</summary>
internal sealed record PublishPortRule(PortMappingRecord Mapping, uint VmAddress, string Comment) : FirewallRule(Comment);

/// <summary>Masquerades the subnet's traffic leaving through <paramref name="Uplink"/>, or through any interface but the bridge.</summary>
internal sealed record MasqueradeRule(Ipv4Subnet Subnet, string Bridge, string? Uplink, string Comment) : FirewallRule(Comment);

/// <summary>Masquerades DNAT'd connections from the host's loopback or from the subnet itself, so replies come back through the host.</summary>
internal sealed record MasqueradeHairpinRule(Ipv4Subnet Subnet, string Bridge, string Comment) : FirewallRule(Comment);
