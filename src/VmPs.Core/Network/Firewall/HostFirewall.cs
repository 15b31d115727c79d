namespace VmPs.Core.Network.Firewall;

/// <summary>
/// The host firewall VmPs writes its networks' rules into. Each network owns its chains outright,
/// so rewriting one network never touches another's rules or anything VmPs did not make.
/// </summary>
internal abstract class HostFirewall
{
    public abstract FirewallBackend Backend { get; }

    /// <summary>The highest bandwidth limit the firewall can police, or null when it has no such bound.</summary>
    public virtual int? MaxBandwidthMbps => null;

    /// <summary>
    /// Brings each network's chains to exactly its policy: the chains on the host are listed once,
    /// and only networks whose rules (compared by their tags, in order) differ are rewritten.
    /// </summary>
    public async Task SyncAsync(IReadOnlyList<NetworkPolicy> policies, CancellationToken cancellationToken)
    {
        if (policies.Count == 0)
        {
            return;
        }

        var present = await ListAsync(cancellationToken).ConfigureAwait(false);
        var stale = policies.Where(policy => !IsCurrent(policy, present)).ToList();
        if (stale.Count > 0)
        {
            await WriteAsync(stale, present, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The networks whose rules on the host differ from their policies; nothing is changed.</summary>
    public async Task<IReadOnlySet<Guid>> StaleAsync(IReadOnlyList<NetworkPolicy> policies, CancellationToken cancellationToken)
    {
        if (policies.Count == 0)
        {
            return new HashSet<Guid>();
        }

        var present = await ListAsync(cancellationToken).ConfigureAwait(false);
        return policies.Where(policy => !IsCurrent(policy, present)).Select(policy => policy.Network.Id).ToHashSet();
    }

    /// <summary>Removes the network's chains and everything VmPs added only for them; no error when they are gone already.</summary>
    public abstract Task RemoveAsync(NetworkRecord network, CancellationToken cancellationToken);

    /// <summary>The VmPs chains on the host with the tags of their rules.</summary>
    protected abstract Task<FirewallListing> ListAsync(CancellationToken cancellationToken);

    /// <summary>True when the host already enforces exactly the policy.</summary>
    protected virtual bool IsCurrent(NetworkPolicy policy, FirewallListing present) => present.Matches(Render(policy));

    /// <summary>The chains the policy needs in this firewall.</summary>
    protected abstract IReadOnlyList<RenderedChain> Render(NetworkPolicy policy);

    /// <summary>Rewrites the networks' chains as one transaction.</summary>
    protected abstract Task WriteAsync(IReadOnlyList<NetworkPolicy> policies, FirewallListing present, CancellationToken cancellationToken);
}

/// <summary>A rule in one firewall's syntax, with the tag it is listed back by.</summary>
internal sealed record RenderedRule(string Text, string Comment);

/// <summary>A chain by the table it lives in and its name there.</summary>
internal readonly record struct ChainKey(string Table, string Name);

/// <summary>A network's chain in one firewall: where it lives, the hook it serves and its rules in order.</summary>
internal sealed record RenderedChain(ChainKey Key, FirewallHook Hook, IReadOnlyList<RenderedRule> Rules);

/// <summary>
/// A rule as a firewall lists it back: its tag (empty when it has none) and what addresses it for
/// deletion there (its handle in nftables, its specification in iptables).
/// </summary>
internal sealed record ListedRule(string Tag, string Locator);

/// <summary>Chains as a firewall lists them, each with its rules in order.</summary>
internal sealed class FirewallListing
{
    private readonly Dictionary<ChainKey, List<ListedRule>> chains = [];

    public IReadOnlyCollection<ChainKey> Chains => chains.Keys;

    public bool Contains(ChainKey chain) => chains.ContainsKey(chain);

    public IReadOnlyList<ListedRule> Rules(ChainKey chain) => chains.TryGetValue(chain, out var rules) ? rules : [];

    public void AddChain(ChainKey chain) => chains.TryAdd(chain, []);

    public void AddRule(ChainKey chain, ListedRule rule) => (chains.TryGetValue(chain, out var rules) ? rules : chains[chain] = []).Add(rule);

    /// <summary>True when every chain exists with exactly these rules (compared by tag), in this order.</summary>
    public bool Matches(IReadOnlyList<RenderedChain> expected) =>
        expected.All(chain => chains.TryGetValue(chain.Key, out var rules) && rules.Select(rule => rule.Tag).SequenceEqual(chain.Rules.Select(rule => rule.Comment)));
}
