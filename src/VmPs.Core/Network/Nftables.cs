using System.Text.Json;
using VmPs.Core.Processes;

namespace VmPs.Core.Network;

/// <summary>Runs `nft` inside the network namespace: applies scripts, lists the vmps table's chains and rule comments.</summary>
internal sealed class Nftables
{
    private const string Executable = "nft";

    private readonly NetworkNamespace networkNamespace;

    public Nftables(NetworkNamespace networkNamespace)
    {
        this.networkNamespace = networkNamespace;
    }

    /// <summary>Applies <paramref name="script"/> as one atomic nft transaction.</summary>
    public async Task ApplyAsync(string script, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["-f", "-"], cancellationToken, script).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new VmPsException(
                "FirewallRulesFailed",
                VmPsErrorKind.InvalidOperation,
                $"nft refused VmPs's rules: {result.StandardError.Trim()}",
                NftRuleset.Table)
            {
                RecommendedAction = "VM networking needs root, nftables support in the kernel (nf_tables, nft_nat, nft_masq, nft_fib) and nft 0.9.3 or later.",
            };
        }
    }

    /// <summary>Chains of the vmps table with their rules' comments in order; empty when the table does not exist.</summary>
    public async Task<Dictionary<string, List<string>>> ListChainsAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(["-j", "list", "table", NftRuleset.Family, NftRuleset.Table], cancellationToken).ConfigureAwait(false);
        var chains = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (result.ExitCode != 0)
        {
            return result.StandardError.Contains("No such file or directory", StringComparison.Ordinal)
                ? chains
                : throw new VmPsException(
                    "FirewallRulesFailed",
                    VmPsErrorKind.InvalidOperation,
                    $"Cannot list the nftables table {NftRuleset.Family} {NftRuleset.Table}: {result.StandardError.Trim()}",
                    NftRuleset.Table);
        }

        using var document = JsonDocument.Parse(result.StandardOutput);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out var chain))
            {
                chains.TryAdd(chain.GetProperty("name").GetString()!, []);
            }
            else if (item.TryGetProperty("rule", out var rule))
            {
                var name = rule.GetProperty("chain").GetString()!;
                var comment = rule.TryGetProperty("comment", out var text) ? text.GetString()! : string.Empty;
                (chains.TryGetValue(name, out var rules) ? rules : chains[name] = []).Add(comment);
            }
        }

        return chains;
    }

    private async Task<ToolResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? input = null)
    {
        try
        {
            return await networkNamespace.RunStartedAsync(
                () => ExternalTool.RunAsync(Executable, arguments, cancellationToken, input),
                cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (ex.ErrorId == "ToolNotFound")
        {
            throw new VmPsException(
                "NftablesNotFound",
                VmPsErrorKind.NotInstalled,
                "VM networks need nftables, and 'nft' is not installed. (VmPs has no iptables fallback.)",
                Executable,
                ex)
            {
                RecommendedAction = "Install nftables (apt-get install nftables); it coexists with iptables-nft.",
            };
        }
    }
}
