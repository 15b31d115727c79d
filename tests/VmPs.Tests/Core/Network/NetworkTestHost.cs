using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Network;

/// <summary>A scratch namespace, a scratch VMPS_HOME and a NetworkManager working in both.</summary>
public sealed partial class NetworkTestHost : IDisposable
{
    private NetworkTestHost(ScratchNamespace scratch, TemporaryVmPsHome home, FirewallBackend firewall)
    {
        Scratch = scratch;
        Home = home;
        Firewall = firewall;
        Manager = new NetworkManager(home.Paths, scratch.Namespace, firewall);
    }

    public FirewallBackend Firewall { get; }

    public ScratchNamespace Scratch { get; }

    public TemporaryVmPsHome Home { get; }

    public NetworkManager Manager { get; }

    public static async Task<NetworkTestHost> CreateAsync(FirewallBackend firewall = FirewallBackend.Nftables) =>
        new(await ScratchNamespace.CreateAsync(), new TemporaryVmPsHome(), firewall);

    public Task<NetworkInfo> CreateNetworkAsync(string name, string subnet, bool nat = true, bool isolated = false) =>
        Manager.CreateAsync(new NetworkCreateOptions { Name = name, Subnet = subnet, Nat = nat, Isolated = isolated }, CancellationToken.None);

    /// <summary>Every row of the network tables, one line per row, for before/after comparisons.</summary>
    public async Task<List<string>> NetworkRowsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Home.Paths.StateDatabase}");
        await connection.OpenAsync();
        var rows = new List<string>();
        foreach (var table in new[] { "networks", "network_adapters", "port_mappings" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table}";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(table + ": " + string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i))));
            }
        }

        return rows;
    }

    /// <summary>The tags (comments) of every firewall rule in the namespace, in listing order (ip6tables' after iptables'), from the host's own tools.</summary>
    public async Task<List<string>> FirewallTagsAsync() =>
        Firewall == FirewallBackend.Nftables
            ? NftRuleComments(await Scratch.RulesetAsync())
            : IptablesComments(await IptablesSaveAsync());

    /// <summary>
    /// Every rule and chain in the namespace for before/after comparisons: the nftables ruleset, and
    /// iptables' and ip6tables' rules and user chains (the built-in tables iptables creates on first use are not VmPs's).
    /// </summary>
    public async Task<string> FirewallStateAsync()
    {
        var iptables = (await IptablesSaveAsync()).Split('\n')
            .Where(line => line.StartsWith("-A ", StringComparison.Ordinal) || (line.StartsWith(':') && !BuiltInChain().IsMatch(line)));
        return Firewall == FirewallBackend.Nftables
            ? await Scratch.RulesetAsync() + "\n" + string.Join('\n', iptables)
            : string.Join('\n', iptables);
    }

    /// <summary>iptables-save's output, then ip6tables-save's.</summary>
    public async Task<string> IptablesSaveAsync() => await Scratch.IptablesSaveAsync() + await Scratch.ExecCheckedAsync("ip6tables-save");

    /// <summary>The comments of every rule in `nft -j list ruleset`, in order.</summary>
    public static List<string> NftRuleComments(string rulesetJson)
    {
        using var document = JsonDocument.Parse(rulesetJson);
        return document.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("rule", out _))
            .Select(item => item.GetProperty("rule").TryGetProperty("comment", out var comment) ? comment.GetString()! : "(none)")
            .ToList();
    }

    private static List<string> IptablesComments(string saved) =>
        saved.Split('\n')
            .Where(line => line.StartsWith("-A ", StringComparison.Ordinal))
            .Select(line => Comment().Match(line) is { Success: true } match ? match.Groups[1].Value : "(none)")
            .ToList();

    [GeneratedRegex("^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ")]
    private static partial Regex BuiltInChain();

    [GeneratedRegex("--comment \"?([^\" ]*)")]
    private static partial Regex Comment();

    public void Dispose()
    {
        Scratch.Dispose();
        Home.Dispose();
    }
}
