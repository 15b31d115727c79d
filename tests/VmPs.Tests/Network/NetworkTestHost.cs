using Microsoft.Data.Sqlite;
using VmPs.Core.Network;
using VmPs.Tests.State;

namespace VmPs.Tests.Network;

/// <summary>A scratch namespace, a scratch VMPS_HOME and a NetworkManager working in both.</summary>
public sealed class NetworkTestHost : IDisposable
{
    private NetworkTestHost(ScratchNamespace scratch, TemporaryVmPsHome home)
    {
        Scratch = scratch;
        Home = home;
        Manager = new NetworkManager(home.Paths, scratch.Namespace);
    }

    public ScratchNamespace Scratch { get; }

    public TemporaryVmPsHome Home { get; }

    public NetworkManager Manager { get; }

    public static async Task<NetworkTestHost> CreateAsync() => new(await ScratchNamespace.CreateAsync(), new TemporaryVmPsHome());

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

    public void Dispose()
    {
        Scratch.Dispose();
        Home.Dispose();
    }
}
