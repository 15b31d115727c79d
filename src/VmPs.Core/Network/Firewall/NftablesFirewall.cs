using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VmPs.Core.Network.Firewall;

/// <summary>
/// Networks' rules in the nftables table `inet vmps`, written through libnftables: five base chains
/// per network named after its id (fwd_, in_, pre_, out_, post_). Rewriting a network is one atomic
/// transaction (declare, flush, add); removal deletes its chains and the table once it is empty.
/// </summary>
internal sealed class NftablesFirewall : HostFirewall
{
    public const string Family = "inet";
    public const string Table = "vmps";

    private readonly NetworkNamespace networkNamespace;

    // Made on the namespace's thread at first use, so its netlink socket lives in the namespace.
    private readonly Lazy<LibNftables> context = new(LibNftables.Create);

    public NftablesFirewall(NetworkNamespace networkNamespace)
    {
        this.networkNamespace = networkNamespace;
    }

    public override FirewallBackend Backend => FirewallBackend.Nftables;

    public override async Task RemoveAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        var present = await ListAsync(cancellationToken).ConfigureAwait(false);
        var ours = Enum.GetValues<FirewallHook>().Select(hook => ChainKeyOf(hook, network)).Where(present.Contains).ToList();
        var script = new StringBuilder();
        foreach (var chain in ours)
        {
            script.Append(CultureInfo.InvariantCulture, $"delete chain {Family} {Table} {chain.Name}\n");
        }

        if (present.Chains.Count > 0 && present.Chains.All(ours.Contains))
        {
            script.Append(CultureInfo.InvariantCulture, $"delete table {Family} {Table}\n");
        }

        if (script.Length > 0)
        {
            await ApplyAsync(script.ToString(), cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task<FirewallListing> ListAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync($"list table {Family} {Table}", json: true, cancellationToken).ConfigureAwait(false);
        var listing = new FirewallListing();
        if (!result.Succeeded)
        {
            return result.Error.Contains("No such file or directory", StringComparison.Ordinal)
                ? listing
                : throw Refused($"Cannot list the nftables table {Family} {Table}", result);
        }

        using var document = JsonDocument.Parse(result.Output);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out var chain))
            {
                listing.AddChain(new ChainKey(Table, chain.GetProperty("name").GetString()!));
            }
            else if (item.TryGetProperty("rule", out var rule))
            {
                var tag = rule.TryGetProperty("comment", out var text) ? text.GetString()! : string.Empty;
                var handle = rule.GetProperty("handle").GetInt64().ToString(CultureInfo.InvariantCulture);
                listing.AddRule(new ChainKey(Table, rule.GetProperty("chain").GetString()!), new ListedRule(tag, handle));
            }
        }

        return listing;
    }

    protected override IReadOnlyList<RenderedChain> Render(NetworkPolicy policy)
    {
        return policy.Chains
            .Select(chain => new RenderedChain(
                ChainKeyOf(chain.Hook, policy.Network),
                chain.Hook,
                chain.Rules.Select(rule => new RenderedRule($"{Statement(rule)} comment {Quote(rule.Comment)}", rule.Comment)).ToList()))
            .ToList();
    }

    /// <summary>
    /// Changes only what differs, in one transaction: missing chains are declared, rules whose tags
    /// are not wanted are deleted by handle, and missing rules are inserted where the policy puts
    /// them. Rules already in place stay untouched, so adding rules never pays the kernel's wait
    /// for readers of removed rules, and re-declaring an existing base chain is never needed.
    /// </summary>
    protected override Task WriteAsync(IReadOnlyList<NetworkPolicy> policies, FirewallListing present, CancellationToken cancellationToken)
    {
        var script = new StringBuilder();
        if (present.Chains.Count == 0)
        {
            script.Append(CultureInfo.InvariantCulture, $"add table {Family} {Table}\n");
        }

        foreach (var chain in policies.SelectMany(Render))
        {
            var prefix = $"{Family} {Table} {chain.Key.Name}";
            if (!present.Contains(chain.Key))
            {
                script.Append(CultureInfo.InvariantCulture, $"add chain {prefix} {{ {Declaration(chain.Hook)} }}\n");
            }

            var listed = present.Rules(chain.Key);
            var kept = RuleDiff.Kept(listed.Select(rule => rule.Tag).ToList(), chain.Rules.Select(rule => rule.Comment).ToList());
            foreach (var (rule, index) in listed.Select((rule, index) => (rule, index)).Where(entry => !kept.ContainsKey(entry.index)))
            {
                script.Append(CultureInfo.InvariantCulture, $"delete rule {prefix} handle {rule.Locator}\n");
            }

            var keptByWanted = kept.ToDictionary(pair => pair.Value, pair => listed[pair.Key].Locator);
            for (var wanted = 0; wanted < chain.Rules.Count; wanted++)
            {
                if (keptByWanted.ContainsKey(wanted))
                {
                    continue;
                }

                var next = Enumerable.Range(wanted + 1, chain.Rules.Count - wanted - 1).FirstOrDefault(keptByWanted.ContainsKey, -1);
                script.Append(next < 0
                    ? $"add rule {prefix} {chain.Rules[wanted].Text}\n"
                    : $"insert rule {prefix} position {keptByWanted[next]} {chain.Rules[wanted].Text}\n");
            }
        }

        return ApplyAsync(script.ToString(), cancellationToken);
    }

    private static ChainKey ChainKeyOf(FirewallHook hook, NetworkRecord network) => new(Table, $"{Prefix(hook)}_{NetworkPolicy.ChainId(network)}");

    private static string Prefix(FirewallHook hook) => hook switch
    {
        FirewallHook.Forward => "fwd",
        FirewallHook.Input => "in",
        FirewallHook.Prerouting => "pre",
        FirewallHook.Output => "out",
        _ => "post",
    };

    private static string Declaration(FirewallHook hook) => hook switch
    {
        FirewallHook.Forward => "type filter hook forward priority filter; policy accept;",
        FirewallHook.Input => "type filter hook input priority filter; policy accept;",
        FirewallHook.Prerouting => "type nat hook prerouting priority dstnat; policy accept;",
        FirewallHook.Output => "type nat hook output priority -100; policy accept;",
        _ => "type nat hook postrouting priority srcnat; policy accept;",
    };

    private static string Statement(FirewallRule rule) => rule switch
    {
        LimitSourceRule limit => string.Create(
            CultureInfo.InvariantCulture,
            $"ip saddr {Ipv4Subnet.FormatAddress(limit.Address)} limit rate over {limit.KilobytesPerSecond} kbytes/second burst {BurstBytes(limit)} bytes drop"),
        AcceptEstablishedRule => "ct state established,related accept",
        AcceptPublishedRule published => $"oifname {Quote(published.Bridge)} ct status dnat accept",
        AcceptWithinBridgeRule within => $"iifname {Quote(within.Bridge)} oifname {Quote(within.Bridge)} accept",
        DropInboundRule inbound => $"oifname {Quote(inbound.Bridge)} drop",
        DropOutboundRule { AllowedUplink: null } outbound => $"iifname {Quote(outbound.Bridge)} drop",
        DropOutboundRule outbound => $"iifname {Quote(outbound.Bridge)} oifname != {Quote(outbound.AllowedUplink!)} drop",
        DropIpv6Rule ipv6 => $"iifname {Quote(ipv6.Bridge)} meta nfproto ipv6 drop",
        DropToHostRule toHost => $"iifname {Quote(toHost.Bridge)} ip daddr != {Ipv4Subnet.FormatAddress(toHost.Gateway)} fib daddr type local drop",
        PublishPortRule publish => Dnat(publish),
        MasqueradeRule masquerade => masquerade.Uplink is { } uplink
            ? $"ip saddr {masquerade.Subnet} oifname {Quote(uplink)} masquerade"
            : $"ip saddr {masquerade.Subnet} oifname != {Quote(masquerade.Bridge)} masquerade",
        MasqueradeHairpinRule hairpin => $"oifname {Quote(hairpin.Bridge)} ct status dnat ip saddr {{ 127.0.0.0/8, {hairpin.Subnet} }} masquerade",
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "No nftables form for this rule."),
    };

    private static string Dnat(PublishPortRule publish)
    {
        var mapping = publish.Mapping;
        var destination = mapping.HostAddress is { } address ? $"ip daddr {Ipv4Subnet.FormatAddress(address)}" : "fib daddr type local";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{destination} {NetworkPolicy.Protocol(mapping.Protocol)} dport {mapping.HostPort} dnat ip to {Ipv4Subnet.FormatAddress(publish.VmAddress)}:{mapping.VmPort}");
    }

    /// <summary>Ten milliseconds' worth of the rate, and never less than a few full frames.</summary>
    private static long BurstBytes(LimitSourceRule limit) => Math.Max(32 * 1024, limit.KilobytesPerSecond * 1000 / 100);

    private static string Quote(string value) => $"\"{value}\"";

    private async Task ApplyAsync(string script, CancellationToken cancellationToken)
    {
        var result = await RunAsync(script, json: false, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw Refused("nftables refused VmPs's rules", result);
        }
    }

    private Task<NftRunResult> RunAsync(string commands, bool json, CancellationToken cancellationToken) =>
        networkNamespace.RunAsync(() => context.Value.Run(commands, json), cancellationToken);

    private static VmPsException Refused(string what, NftRunResult result) => NetworkErrors.FirewallRulesFailed(
        $"{what}: {result.Error.Trim()}",
        Table,
        "nftables support in the kernel (nf_tables, nft_nat, nft_masq, nft_fib, nft_limit)");
}
