using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Network.Firewall;

/// <summary>
/// Networks' rules in iptables, for hosts without nftables: per network, chains VMPS-FWD-, VMPS-IN-
/// (filter) and VMPS-PRE-, VMPS-OUT-, VMPS-POST- (nat) named after its id, each entered by a tagged
/// jump at the top of the built-in chain. iptables sees IPv4 only, so ip6tables gets the filter
/// chains too, with the rules that apply to IPv6 (isolation, and dropping the VMs' IPv6). Filter
/// jumps match only the network's bridge, so the accepts there decide for VM traffic alone. Changes
/// go through `iptables-restore --noflush` and `ip6tables-restore --noflush`, one atomic commit per
/// table; the host's own rules are never flushed.
/// </summary>
internal sealed partial class IptablesFirewall : HostFirewall
{
    private const string ChainPrefix = "VMPS-";

    private static readonly IptablesFamily Ipv4 = new("iptables", "ip ", HasNat: true);
    private static readonly IptablesFamily Ipv6 = new("ip6tables", "ip6 ", HasNat: false);

    private readonly NetworkNamespace networkNamespace;
    private readonly IReadOnlyList<IptablesFamily> families;

    public IptablesFirewall(NetworkNamespace networkNamespace)
    {
        this.networkNamespace = networkNamespace;
        families = Socket.OSSupportsIPv6 ? [Ipv4, Ipv6] : [Ipv4];
    }

    public override FirewallBackend Backend => FirewallBackend.Iptables;

    /// <summary>hashlimit's byte-rate arithmetic overflows above about 8 Gbit/s.</summary>
    public override int? MaxBandwidthMbps => 8000;

    public override async Task RemoveAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        var present = await ListAsync(cancellationToken).ConfigureAwait(false);
        var chains = ChainsOf(network).Select(chain => chain.Key).Where(present.Contains).ToList();
        var script = new RestoreScript();
        foreach (var (parent, rule) in JumpsInto(chains.Select(chain => chain.Name).ToHashSet(StringComparer.Ordinal), present))
        {
            script.Line(parent.Table, $"-D {parent.Name} {rule.Locator}");
        }

        foreach (var chain in chains)
        {
            script.Line(chain.Table, $"-F {chain.Name}");
            script.Line(chain.Table, $"-X {chain.Name}");
        }

        await ApplyAsync(script, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<FirewallListing> ListAsync(CancellationToken cancellationToken)
    {
        var listing = new FirewallListing();
        foreach (var family in families)
        {
            var saved = await RunAsync(family.Save, [], null, cancellationToken).ConfigureAwait(false);
            if (saved.ExitCode != 0)
            {
                throw Refused(family, $"Cannot list the {family.Name} rules", saved);
            }

            Parse(family, saved.StandardOutput, listing);
        }

        return listing;
    }

    protected override bool IsCurrent(NetworkPolicy policy, FirewallListing present) =>
        base.IsCurrent(policy, present) && Jumps(policy).All(jump => IsPresent(jump, present));

    protected override IReadOnlyList<RenderedChain> Render(NetworkPolicy policy) =>
        families
            .SelectMany(family => policy.Chains.Where(chain => family.Has(chain.Hook)).Select(chain => new RenderedChain(
                ChainKeyOf(family, chain.Hook, policy.Network),
                chain.Hook,
                chain.Rules
                    .SelectMany(rule => Specs(rule, family).Select(spec => new RenderedRule($"{spec} -m comment --comment {Quote(rule.Comment)}", rule.Comment)))
                    .ToList())))
            .ToList();

    /// <summary>Adds the chains and rules of one family's `*-save` output to the listing.</summary>
    private static void Parse(IptablesFamily family, string saved, FirewallListing listing)
    {
        var table = string.Empty;
        foreach (var line in saved.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('*'))
            {
                table = family.Table(line[1..]);
            }
            else if (line.StartsWith(':'))
            {
                listing.AddChain(new ChainKey(table, line[1..line.IndexOf(' ', StringComparison.Ordinal)]));
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                var separator = line.IndexOf(' ', 3);
                var text = line[(separator + 1)..];
                var comment = CommentPattern().Match(text);
                var tag = comment.Success ? (comment.Groups[1].Success ? comment.Groups[1].Value : comment.Groups[2].Value) : string.Empty;
                listing.AddRule(new ChainKey(table, line[3..separator]), new ListedRule(tag, text));
            }
        }
    }

    protected override Task WriteAsync(IReadOnlyList<NetworkPolicy> policies, FirewallListing present, CancellationToken cancellationToken)
    {
        var script = new RestoreScript();
        foreach (var policy in policies)
        {
            foreach (var chain in Render(policy))
            {
                // Under --noflush, declaring a chain creates it, or empties it when it exists.
                script.Line(chain.Key.Table, $":{chain.Key.Name} - [0:0]");
                foreach (var rule in chain.Rules)
                {
                    script.Line(chain.Key.Table, $"-A {chain.Key.Name} {rule.Text}");
                }
            }

            foreach (var jump in Jumps(policy).Where(jump => !IsPresent(jump, present)))
            {
                script.Line(jump.Parent.Table, $"-I {jump.Parent.Name} 1 {jump.Text}");
            }
        }

        return ApplyAsync(script, cancellationToken);
    }

    private static bool IsPresent(Jump jump, FirewallListing present) => present.Rules(jump.Parent).Any(rule => rule.Tag == jump.Comment);

    /// <summary>The rules in the built-in chains that jump to one of <paramref name="chains"/>.</summary>
    private static IEnumerable<(ChainKey Parent, ListedRule Rule)> JumpsInto(IReadOnlySet<string> chains, FirewallListing present) =>
        present.Chains
            .Where(chain => !chain.Name.StartsWith(ChainPrefix, StringComparison.Ordinal))
            .SelectMany(chain => present.Rules(chain)
                .Where(rule => JumpPattern().Match(rule.Locator) is { Success: true } target && chains.Contains(target.Groups[1].Value))
                .Select(rule => (chain, rule)));

    /// <summary>The jumps from the built-in chains into the network's chains; filter jumps match only its bridge.</summary>
    private IEnumerable<Jump> Jumps(NetworkPolicy policy)
    {
        var network = policy.Network;
        var bridge = network.Bridge;
        foreach (var (hook, chain) in ChainsOf(network))
        {
            var parent = new ChainKey(chain.Table, BuiltInChain(hook));
            (string Match, string Purpose)[] entries = hook switch
            {
                FirewallHook.Forward => [($"-i {bridge} ", "from-vms"), ($"-o {bridge} ", "to-vms")],
                FirewallHook.Input => [($"-i {bridge} ", "from-vms")],
                _ => [(string.Empty, "all")],
            };
            foreach (var (match, purpose) in entries)
            {
                var comment = $"{NetworkPolicy.CommentPrefix}{network.Name}:jump-{purpose}";
                yield return new Jump(parent, $"{match}-m comment --comment {Quote(comment)} -j {chain.Name}", comment);
            }
        }
    }

    /// <summary>The network's chains in every family this host has, with the hooks they serve.</summary>
    private IEnumerable<(FirewallHook Hook, ChainKey Key)> ChainsOf(NetworkRecord network) =>
        families.SelectMany(family => Enum.GetValues<FirewallHook>().Where(family.Has).Select(hook => (hook, ChainKeyOf(family, hook, network))));

    private static ChainKey ChainKeyOf(IptablesFamily family, FirewallHook hook, NetworkRecord network)
    {
        var id = NetworkPolicy.ChainId(network).ToUpperInvariant();
        return hook switch
        {
            FirewallHook.Forward => new(family.Table("filter"), $"{ChainPrefix}FWD-{id}"),
            FirewallHook.Input => new(family.Table("filter"), $"{ChainPrefix}IN-{id}"),
            FirewallHook.Prerouting => new(family.Table("nat"), $"{ChainPrefix}PRE-{id}"),
            FirewallHook.Output => new(family.Table("nat"), $"{ChainPrefix}OUT-{id}"),
            _ => new(family.Table("nat"), $"{ChainPrefix}POST-{id}"),
        };
    }

    private static string BuiltInChain(FirewallHook hook) => hook switch
    {
        FirewallHook.Forward => "FORWARD",
        FirewallHook.Input => "INPUT",
        FirewallHook.Prerouting => "PREROUTING",
        FirewallHook.Output => "OUTPUT",
        _ => "POSTROUTING",
    };

    /// <summary>
    /// The rule's form for <paramref name="family"/>: rule specifications (iptables has no address sets
    /// in one rule), none where the rule does not concern that family's packets.
    /// </summary>
    private static IEnumerable<string> Specs(FirewallRule rule, IptablesFamily family) => family == Ipv6 ? Ipv6Specs(rule) : Ipv4Specs(rule);

    /// <summary>
    /// VmPs networks carry no IPv6 of their own: the IPv6 chains keep the isolation rules (so neither
    /// other networks nor the outside reach the VMs) and drop what the VMs send to the host or to be routed.
    /// </summary>
    private static IEnumerable<string> Ipv6Specs(FirewallRule rule) => rule switch
    {
        AcceptEstablishedRule or AcceptWithinBridgeRule or DropInboundRule or DropOutboundRule => Ipv4Specs(rule),
        DropIpv6Rule ipv6 => [$"-i {ipv6.Bridge} -j DROP"],
        _ => [],
    };

    private static IEnumerable<string> Ipv4Specs(FirewallRule rule) => rule switch
    {
        LimitSourceRule limit =>
        [
            string.Create(
                CultureInfo.InvariantCulture,
                $"-s {Ipv4Subnet.FormatAddress(limit.Address)}/32 -m hashlimit --hashlimit-above {limit.KilobytesPerSecond}kb/s --hashlimit-burst {BurstKilobytes(limit)}kb --hashlimit-mode srcip --hashlimit-name vmps-{limit.Address:x8} -j DROP"),
        ],
        AcceptEstablishedRule => ["-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"],
        AcceptPublishedRule published => [$"-o {published.Bridge} -m conntrack --ctstate DNAT -j ACCEPT"],
        AcceptWithinBridgeRule within => [$"-i {within.Bridge} -o {within.Bridge} -j ACCEPT"],
        DropInboundRule inbound => [$"-o {inbound.Bridge} -j DROP"],
        DropOutboundRule { AllowedUplink: null } outbound => [$"-i {outbound.Bridge} -j DROP"],
        DropOutboundRule outbound => [$"-i {outbound.Bridge} ! -o {outbound.AllowedUplink} -j DROP"],
        DropToHostRule toHost => [$"-i {toHost.Bridge} ! -d {Ipv4Subnet.FormatAddress(toHost.Gateway)}/32 -m addrtype --dst-type LOCAL -j DROP"],
        DropIpv6Rule => [],
        PublishPortRule publish => [Dnat(publish)],
        MasqueradeRule masquerade => [$"-s {masquerade.Subnet} {(masquerade.Uplink is { } uplink ? $"-o {uplink}" : $"! -o {masquerade.Bridge}")} -j MASQUERADE"],
        MasqueradeHairpinRule hairpin =>
        [
            $"-s 127.0.0.0/8 -o {hairpin.Bridge} -m conntrack --ctstate DNAT -j MASQUERADE",
            $"-s {hairpin.Subnet} -o {hairpin.Bridge} -m conntrack --ctstate DNAT -j MASQUERADE",
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "No iptables form for this rule."),
    };

    /// <summary>hashlimit wants a burst of at least one second's worth, and rounds the rate up a little.</summary>
    private static long BurstKilobytes(LimitSourceRule limit) => limit.KilobytesPerSecond + (limit.KilobytesPerSecond / 100) + 1;

    private static string Dnat(PublishPortRule publish)
    {
        var mapping = publish.Mapping;
        var protocol = NetworkPolicy.Protocol(mapping.Protocol);
        var destination = mapping.HostAddress is { } address ? $"-d {Ipv4Subnet.FormatAddress(address)}/32" : "-m addrtype --dst-type LOCAL";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{destination} -p {protocol} -m {protocol} --dport {mapping.HostPort} -j DNAT --to-destination {Ipv4Subnet.FormatAddress(publish.VmAddress)}:{mapping.VmPort}");
    }

    private static string Quote(string value) => $"\"{value}\"";

    /// <summary>The tool's path on the search path with the sbin directories, where iptables lives; else its bare name.</summary>
    private static string Locate(string tool) => DetachedProcess.FindOnPath(tool, HostToolCatalog.DefaultSearchPath()) ?? tool;

    private async Task ApplyAsync(RestoreScript script, CancellationToken cancellationToken)
    {
        foreach (var family in families)
        {
            var input = script.ToString(family);
            if (input.Length == 0)
            {
                continue;
            }

            var result = await RunAsync(family.Restore, ["--noflush", "--wait", "10"], input, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw Refused(family, $"{family.Name} refused VmPs's rules", result);
            }
        }
    }

    private async Task<ToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, string? input, CancellationToken cancellationToken)
    {
        try
        {
            return await networkNamespace.RunStartedAsync(
                () => ExternalTool.RunAsync(tool, arguments, cancellationToken, input),
                cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.ToolNotFound)
        {
            throw FirewallSelection.NotFound(ex);
        }
    }

    private static VmPsException Refused(IptablesFamily family, string what, ToolResult result) => NetworkErrors.FirewallRulesFailed(
        $"{what}: {result.StandardError.Trim()}",
        family.Restore,
        "the kernel's iptables support (ip_tables and ip6_tables, or nf_tables, with the conntrack, addrtype, hashlimit, comment, NAT and MASQUERADE extensions)");

    [GeneratedRegex("""--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))""")]
    private static partial Regex CommentPattern();

    [GeneratedRegex(@"(?:^| )-j (\S+)")]
    private static partial Regex JumpPattern();

    /// <summary>A jump from a built-in chain into a network's chain.</summary>
    private sealed record Jump(ChainKey Parent, string Text, string Comment);

    /// <summary>
    /// iptables (IPv4) or ip6tables (IPv6): their tools, and the prefix that tells their tables apart in
    /// chain keys ("ip filter" is iptables' filter table, "ip6 filter" ip6tables'). IPv6 gets filter
    /// chains only: VmPs publishes no port and masquerades nothing over IPv6.
    /// </summary>
    private sealed record IptablesFamily(string Name, string TablePrefix, bool HasNat)
    {
        public string Restore { get; } = Locate($"{Name}-restore");

        public string Save { get; } = Locate($"{Name}-save");

        public bool Has(FirewallHook hook) => HasNat || hook is FirewallHook.Forward or FirewallHook.Input;

        public string Table(string name) => TablePrefix + name;

        public bool Owns(string table) => table.StartsWith(TablePrefix, StringComparison.Ordinal);
    }

    /// <summary>A restore input per family: lines grouped by table, each table committed atomically.</summary>
    private sealed class RestoreScript
    {
        private readonly Dictionary<string, List<string>> tables = new(StringComparer.Ordinal);

        public void Line(string table, string line) => (tables.TryGetValue(table, out var lines) ? lines : tables[table] = []).Add(line);

        /// <summary>The input for <paramref name="family"/>'s restore tool; empty when it has nothing to change.</summary>
        public string ToString(IptablesFamily family)
        {
            var text = new StringBuilder();
            foreach (var (table, lines) in tables.Where(entry => family.Owns(entry.Key)))
            {
                text.Append('*').Append(table[family.TablePrefix.Length..]).Append('\n');
                foreach (var line in lines)
                {
                    text.Append(line).Append('\n');
                }

                text.Append("COMMIT\n");
            }

            return text.ToString();
        }
    }
}
