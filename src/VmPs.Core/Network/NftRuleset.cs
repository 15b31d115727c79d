using System.Globalization;
using System.Text;

namespace VmPs.Core.Network;

/// <summary>One nftables rule of a network's chain; its comment tags it for listing and exact comparison.</summary>
internal sealed record NftRule(string Body, string Comment);

/// <summary>A base chain of a network: its hook declaration and its rules, in order.</summary>
internal sealed record NftChain(string Name, string Declaration, IReadOnlyList<NftRule> Rules);

/// <summary>A published port as the rules see it: the mapping and the VM address it leads to.</summary>
internal sealed record PublishedPort(PortMappingRecord Mapping, uint VmAddress);

/// <summary>
/// The nftables rules of one VmPs network, all in the `inet vmps` table: five base chains named
/// after the network's id (forward and input filters, prerouting/output DNAT for published ports,
/// postrouting masquerade). Every network owns its chains outright, so (re)writing one is a single
/// atomic transaction (declare, flush, add) that never touches another network's rules.
/// </summary>
internal static class NftRuleset
{
    public const string Family = "inet";
    public const string Table = "vmps";

    /// <summary>Comments start with this so `nft list ruleset` shows which rules are VmPs's.</summary>
    public const string CommentPrefix = "vmps:";

    public static IReadOnlyList<string> ChainNames(NetworkRecord network)
    {
        var id = ChainId(network);
        return [$"fwd_{id}", $"in_{id}", $"pre_{id}", $"out_{id}", $"post_{id}"];
    }

    /// <summary>
    /// The network's chains. <paramref name="limited"/> are its adapters with a bandwidth limit: what
    /// they send is policed here (tc on the TAP shapes only what they receive, and this kernel
    /// family often lacks tc's police action).
    /// </summary>
    public static IReadOnlyList<NftChain> Chains(NetworkRecord network, IReadOnlyList<PublishedPort> ports, IReadOnlyList<AdapterRecord> limited)
    {
        var names = ChainNames(network);
        var bridge = Quote(network.Bridge);
        var gateway = Ipv4Subnet.FormatAddress(network.Gateway);
        var subnet = network.Subnet.ToString();
        string Tag(string what) => Quote($"{CommentPrefix}{network.Name}:{what}");

        var policing = limited.Select(adapter => PoliceRule(adapter, Tag)).ToList();
        var forward = new List<NftRule>(policing)
        {
            new("ct state established,related accept", Tag("established")),
            new($"oifname {bridge} ct status dnat accept", Tag("published")),
        };
        if (!network.Isolated)
        {
            forward.Add(new($"iifname {bridge} oifname {bridge} accept", Tag("bridge")));
        }

        forward.Add(new($"oifname {bridge} drop", Tag("inbound")));
        if (!network.Nat)
        {
            forward.Add(new($"iifname {bridge} drop", Tag("host-only")));
        }
        else if (network.Uplink is { } uplink)
        {
            forward.Add(new($"iifname {bridge} oifname != {Quote(uplink)} drop", Tag("uplink-only")));
        }

        var input = new List<NftRule>(policing)
        {
            new("ct state established,related accept", Tag("established")),
            new($"iifname {bridge} ip daddr != {gateway} fib daddr type local drop", Tag("host-addresses")),
        };

        var dnat = ports.Select(port => DnatRule(port, Tag)).ToList();

        var postrouting = new List<NftRule>();
        if (network.Nat)
        {
            var outward = network.Uplink is { } uplink ? $"oifname {Quote(uplink)}" : $"oifname != {bridge}";
            postrouting.Add(new($"ip saddr {subnet} {outward} masquerade", Tag("masquerade")));
        }

        postrouting.Add(new($"oifname {bridge} ct status dnat ip saddr {{ 127.0.0.0/8, {subnet} }} masquerade", Tag("hairpin")));

        return
        [
            new(names[0], "type filter hook forward priority filter; policy accept;", forward),
            new(names[1], "type filter hook input priority filter; policy accept;", input),
            new(names[2], "type nat hook prerouting priority dstnat; policy accept;", dnat),
            new(names[3], "type nat hook output priority -100; policy accept;", dnat),
            new(names[4], "type nat hook postrouting priority srcnat; policy accept;", postrouting),
        ];
    }

    /// <summary>An nft script that makes the network's chains exactly <paramref name="chains"/>, atomically.</summary>
    public static string ApplyScript(IReadOnlyList<NftChain> chains)
    {
        var script = new StringBuilder().Append(CultureInfo.InvariantCulture, $"add table {Family} {Table}\n");
        foreach (var chain in chains)
        {
            script.Append(CultureInfo.InvariantCulture, $"add chain {Family} {Table} {chain.Name} {{ {chain.Declaration} }}\n");
            script.Append(CultureInfo.InvariantCulture, $"flush chain {Family} {Table} {chain.Name}\n");
            foreach (var rule in chain.Rules)
            {
                script.Append(CultureInfo.InvariantCulture, $"add rule {Family} {Table} {chain.Name} {rule.Body} comment {rule.Comment}\n");
            }
        }

        return script.ToString();
    }

    /// <summary>Deletes the chains present; the table too when nothing else is left in it.</summary>
    public static string? RemoveScript(IEnumerable<string> chainsToDelete, bool deleteTable)
    {
        var script = new StringBuilder();
        foreach (var chain in chainsToDelete)
        {
            script.Append(CultureInfo.InvariantCulture, $"delete chain {Family} {Table} {chain}\n");
        }

        if (deleteTable)
        {
            script.Append(CultureInfo.InvariantCulture, $"delete table {Family} {Table}\n");
        }

        return script.Length == 0 ? null : script.ToString();
    }

    /// <summary>The comments a chain is expected to carry, unquoted, as nft lists them back.</summary>
    public static IReadOnlyList<string> ExpectedComments(NftChain chain) =>
        chain.Rules.Select(rule => rule.Comment.Trim('"')).ToList();

    private static NftRule PoliceRule(AdapterRecord adapter, Func<string, string> tag)
    {
        var kilobytesPerSecond = adapter.MaxBandwidthMbps!.Value * 125L;
        var burstBytes = Math.Max(32 * 1024, kilobytesPerSecond * 1000 / 100);
        return new(
            string.Create(
                CultureInfo.InvariantCulture,
                $"ip saddr {Ipv4Subnet.FormatAddress(adapter.Address)} limit rate over {kilobytesPerSecond} kbytes/second burst {burstBytes} bytes drop"),
            tag(string.Create(CultureInfo.InvariantCulture, $"vm={adapter.VmId:N}:limit")));
    }

    private static NftRule DnatRule(PublishedPort port, Func<string, string> tag)
    {
        var mapping = port.Mapping;
        var protocol = mapping.Protocol == PortProtocol.Tcp ? "tcp" : "udp";
        var destination = mapping.HostAddress is { } address
            ? $"ip daddr {Ipv4Subnet.FormatAddress(address)}"
            : "fib daddr type local";
        return new(
            string.Create(
                CultureInfo.InvariantCulture,
                $"{destination} {protocol} dport {mapping.HostPort} dnat ip to {Ipv4Subnet.FormatAddress(port.VmAddress)}:{mapping.VmPort}"),
            tag(string.Create(CultureInfo.InvariantCulture, $"vm={mapping.VmId:N}:{protocol}/{mapping.HostPort}")));
    }

    private static string ChainId(NetworkRecord network) => network.Bridge[NetworkStore.BridgePrefix.Length..];

    private static string Quote(string value) => $"\"{value}\"";
}
