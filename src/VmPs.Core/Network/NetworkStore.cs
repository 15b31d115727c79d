using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Network;

/// <summary>
/// The networks, network_adapters and port_mappings tables. Every allocation (network name and
/// subnet, bridge and TAP names, address, MAC, host port) is checked and inserted inside one
/// BEGIN IMMEDIATE transaction, so concurrent sessions never hand out the same one.
/// </summary>
internal sealed class NetworkStore
{
    public const string BridgePrefix = "vmpsbr-";
    public const string TapPrefix = "vmpst-";

    private const int InterfaceNameMax = 15;

    private readonly StateDatabase database;

    public NetworkStore(StateDatabase database)
    {
        this.database = database;
    }

    /// <summary>
    /// Inserts the network under a fresh id and bridge name; <paramref name="check"/> sees every
    /// existing network first (inside the transaction) and throws to refuse a name or subnet.
    /// </summary>
    public Task<NetworkRecord> InsertNetworkAsync(
        Func<Guid, string, NetworkRecord> create,
        Action<IReadOnlyList<NetworkRecord>> check,
        CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var existing = await connection.Command("SELECT * FROM networks", transaction)
                    .ListAsync(ReadNetwork, cancellationToken).ConfigureAwait(false);
                check(existing);
                Guid id;
                string bridge;
                do
                {
                    id = Guid.NewGuid();
                    bridge = BridgePrefix + id.ToString("N")[..(InterfaceNameMax - BridgePrefix.Length)];
                }
                while (existing.Any(n => n.Bridge == bridge));

                var network = create(id, bridge);
                await connection.Command(
                        """
                        INSERT INTO networks (id, name, bridge, subnet, gateway, nat, isolated, dns, uplink, mtu, created_at)
                        VALUES ($id, $name, $bridge, $subnet, $gateway, $nat, $isolated, $dns, $uplink, $mtu, $created)
                        """,
                        transaction)
                    .With("$id", network.Id.ToString())
                    .With("$name", network.Name)
                    .With("$bridge", network.Bridge)
                    .With("$subnet", network.Subnet.ToString())
                    .With("$gateway", Ipv4Subnet.FormatAddress(network.Gateway))
                    .With("$nat", network.Nat)
                    .With("$isolated", network.Isolated)
                    .With("$dns", string.Join(',', network.Dns))
                    .With("$uplink", network.Uplink)
                    .With("$mtu", network.Mtu)
                    .With("$created", network.CreatedAt.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return network;
            },
            cancellationToken);

    public async Task<List<NetworkRecord>> GetNetworksAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT * FROM networks ORDER BY name COLLATE NOCASE")
            .ListAsync(ReadNetwork, cancellationToken).ConfigureAwait(false);
    }

    public async Task<NetworkRecord?> FindNetworkAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command("SELECT * FROM networks WHERE name = $name COLLATE NOCASE")
            .With("$name", name)
            .ListAsync(ReadNetwork, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    /// <summary>Deletes the network row; refused (NetworkInUse) when an adapter appeared meanwhile.</summary>
    public Task DeleteNetworkAsync(NetworkRecord network, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var users = await connection.Command("SELECT vm_name FROM network_adapters WHERE network_id = $id ORDER BY vm_name", transaction)
                    .With("$id", network.Id.ToString())
                    .ListAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
                if (users.Count > 0)
                {
                    throw NetworkErrors.InUse(network.Name, users);
                }

                await connection.Command("DELETE FROM networks WHERE id = $id", transaction)
                    .With("$id", network.Id.ToString())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>
    /// Allocates the adapter: the requested address (validated) or the lowest free one, the VM's own
    /// MAC when its vms row exists (else a fresh one), and a TAP name derived from the VM id.
    /// </summary>
    public Task<AdapterRecord> AllocateAdapterAsync(AdapterRequest request, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var network = (await connection.Command("SELECT * FROM networks WHERE id = $id", transaction)
                    .With("$id", request.NetworkId.ToString())
                    .ListAsync(ReadNetwork, cancellationToken).ConfigureAwait(false)).SingleOrDefault()
                    ?? throw NetworkErrors.NotFound(request.NetworkId.ToString());
                if (await FindAdapterAsync(connection, transaction, request.VmId, cancellationToken).ConfigureAwait(false) is not null)
                {
                    throw NetworkErrors.AdapterExists(request.VmName, network.Name);
                }

                var taken = await connection.Command("SELECT ip_address, vm_name FROM network_adapters WHERE network_id = $id ORDER BY ip_address", transaction)
                    .With("$id", network.Id.ToString())
                    .ListAsync(reader => (Address: (uint)reader.GetInt64(0), VmName: reader.GetString(1)), cancellationToken).ConfigureAwait(false);
                var address = request.Address is { } requested
                    ? CheckRequestedAddress(network, requested, taken)
                    : LowestFreeAddress(network, taken.Select(t => t.Address));
                var adapter = new AdapterRecord(
                    request.VmId,
                    request.VmName,
                    network.Id,
                    await AllocateTapAsync(connection, transaction, request.VmId, cancellationToken).ConfigureAwait(false),
                    await AllocateMacAsync(connection, transaction, request.VmId, cancellationToken).ConfigureAwait(false),
                    address,
                    request.MaxBandwidthMbps,
                    Plugged: false);
                await connection.Command(
                        """
                        INSERT INTO network_adapters (vm_id, vm_name, network_id, tap, mac_address, ip_address, max_bandwidth_mbps, created_at)
                        VALUES ($vm, $vmName, $network, $tap, $mac, $ip, $bandwidth, $created)
                        """,
                        transaction)
                    .With("$vm", adapter.VmId.ToString())
                    .With("$vmName", adapter.VmName)
                    .With("$network", adapter.NetworkId.ToString())
                    .With("$tap", adapter.Tap)
                    .With("$mac", adapter.MacAddress)
                    .With("$ip", (long)adapter.Address)
                    .With("$bandwidth", adapter.MaxBandwidthMbps)
                    .With("$created", DateTimeOffset.UtcNow.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return adapter;
            },
            cancellationToken);

    public async Task<List<AdapterRecord>> GetAdaptersAsync(Guid? vmId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT * FROM network_adapters WHERE $vm IS NULL OR vm_id = $vm ORDER BY vm_name COLLATE NOCASE")
            .With("$vm", vmId?.ToString())
            .ListAsync(ReadAdapter, cancellationToken).ConfigureAwait(false);
    }

    public async Task SetPluggedAsync(Guid vmId, bool plugged, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.Command("UPDATE network_adapters SET plugged = $plugged WHERE vm_id = $vm")
            .With("$vm", vmId.ToString())
            .With("$plugged", plugged)
            .RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the adapter and its port mappings; the address is free again at commit.</summary>
    public async Task DeleteAdapterAsync(Guid vmId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.Command("DELETE FROM network_adapters WHERE vm_id = $vm")
            .With("$vm", vmId.ToString())
            .RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inserts the mapping unless another VM publishes that host port already.</summary>
    public Task InsertPortMappingAsync(PortMappingRecord mapping, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var holder = await connection.Command(
                        "SELECT vm_name FROM port_mappings m JOIN network_adapters a ON a.vm_id = m.vm_id WHERE m.protocol = $protocol AND m.host_port = $port",
                        transaction)
                    .With("$protocol", mapping.Protocol.ToString())
                    .With("$port", mapping.HostPort)
                    .ScalarAsync(cancellationToken).ConfigureAwait(false);
                if (holder is string vmName)
                {
                    throw NetworkErrors.PortInUse(mapping.HostPort, mapping.Protocol, $"published by the VM '{vmName}'");
                }

                await connection.Command(
                        """
                        INSERT INTO port_mappings (vm_id, protocol, host_address, host_port, vm_port, created_at)
                        VALUES ($vm, $protocol, $address, $hostPort, $vmPort, $created)
                        """,
                        transaction)
                    .With("$vm", mapping.VmId.ToString())
                    .With("$protocol", mapping.Protocol.ToString())
                    .With("$address", mapping.HostAddress is { } address ? Ipv4Subnet.FormatAddress(address) : null)
                    .With("$hostPort", mapping.HostPort)
                    .With("$vmPort", mapping.VmPort)
                    .With("$created", DateTimeOffset.UtcNow.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    public async Task<List<PortMappingRecord>> GetPortMappingsAsync(Guid? vmId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT * FROM port_mappings WHERE $vm IS NULL OR vm_id = $vm ORDER BY host_port, protocol")
            .With("$vm", vmId?.ToString())
            .ListAsync(ReadPortMapping, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeletePortMappingAsync(Guid vmId, PortProtocol protocol, int hostPort, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("DELETE FROM port_mappings WHERE vm_id = $vm AND protocol = $protocol AND host_port = $port")
            .With("$vm", vmId.ToString())
            .With("$protocol", protocol.ToString())
            .With("$port", hostPort)
            .RunAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private static uint CheckRequestedAddress(NetworkRecord network, uint address, List<(uint Address, string VmName)> taken)
    {
        var text = Ipv4Subnet.FormatAddress(address);
        if (!network.Subnet.Contains(address))
        {
            throw NetworkErrors.AddressOutOfSubnet(text, network.Subnet.ToString(), "address");
        }

        var role = address == network.Subnet.Network ? "network address"
            : address == network.Subnet.Broadcast ? "broadcast address"
            : address == network.Gateway ? "gateway"
            : null;
        if (role is not null)
        {
            throw NetworkErrors.AddressReserved(text, network.Name, role);
        }

        foreach (var (takenAddress, vmName) in taken)
        {
            if (takenAddress == address)
            {
                throw NetworkErrors.AddressInUse(text, network.Name, vmName);
            }
        }

        return address;
    }

    /// <summary>The lowest host address that is neither the gateway nor taken (<paramref name="taken"/> is ascending).</summary>
    private static uint LowestFreeAddress(NetworkRecord network, IEnumerable<uint> taken)
    {
        var used = new SortedSet<uint>(taken) { network.Gateway };
        long candidate = network.Subnet.FirstHost;
        foreach (var address in used)
        {
            if (address > candidate)
            {
                break;
            }

            if (address == candidate)
            {
                candidate++;
            }
        }

        return candidate <= network.Subnet.LastHost
            ? (uint)candidate
            : throw NetworkErrors.PoolExhausted(network.Name, network.Subnet.ToString());
    }

    private static async Task<string> AllocateTapAsync(SqliteConnection connection, SqliteTransaction transaction, Guid vmId, CancellationToken cancellationToken)
    {
        var length = InterfaceNameMax - TapPrefix.Length;
        var candidate = TapPrefix + vmId.ToString("N")[..length];
        while (await connection.Command("SELECT 1 FROM network_adapters WHERE tap = $tap", transaction)
                   .With("$tap", candidate)
                   .ScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
        {
            candidate = TapPrefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()[..length];
        }

        return candidate;
    }

    /// <summary>The VM's own MAC (allocated with its vms row) when there is one, else a fresh unique one.</summary>
    private static async Task<string> AllocateMacAsync(SqliteConnection connection, SqliteTransaction transaction, Guid vmId, CancellationToken cancellationToken)
    {
        if (await connection.Command("SELECT mac_address FROM vms WHERE id = $id", transaction)
                .With("$id", vmId.ToString())
                .ScalarAsync(cancellationToken).ConfigureAwait(false) is string own)
        {
            return own;
        }

        var suffix = new byte[3];
        while (true)
        {
            RandomNumberGenerator.Fill(suffix);
            var mac = string.Create(CultureInfo.InvariantCulture, $"{VmStore.MacPrefix}:{suffix[0]:x2}:{suffix[1]:x2}:{suffix[2]:x2}");
            var inUse = await connection.Command(
                    "SELECT 1 FROM vms WHERE mac_address = $mac UNION ALL SELECT 1 FROM network_adapters WHERE mac_address = $mac",
                    transaction)
                .With("$mac", mac)
                .ScalarAsync(cancellationToken).ConfigureAwait(false);
            if (inUse is null)
            {
                return mac;
            }
        }
    }

    private static async Task<AdapterRecord?> FindAdapterAsync(SqliteConnection connection, SqliteTransaction transaction, Guid vmId, CancellationToken cancellationToken) =>
        (await connection.Command("SELECT * FROM network_adapters WHERE vm_id = $vm", transaction)
            .With("$vm", vmId.ToString())
            .ListAsync(ReadAdapter, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private static NetworkRecord ReadNetwork(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(reader.GetOrdinal("id"))),
        reader.GetString(reader.GetOrdinal("name")),
        reader.GetString(reader.GetOrdinal("bridge")),
        Ipv4Subnet.TryParse(reader.GetString(reader.GetOrdinal("subnet")), out _)!.Value,
        Ipv4Subnet.TryParseAddress(reader.GetString(reader.GetOrdinal("gateway")))!.Value,
        reader.GetBoolean(reader.GetOrdinal("nat")),
        reader.GetBoolean(reader.GetOrdinal("isolated")),
        reader.GetString(reader.GetOrdinal("dns")).Split(',', StringSplitOptions.RemoveEmptyEntries),
        reader.GetNullableString("uplink"),
        reader.GetInt32(reader.GetOrdinal("mtu")),
        SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at"))));

    private static AdapterRecord ReadAdapter(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(reader.GetOrdinal("vm_id"))),
        reader.GetString(reader.GetOrdinal("vm_name")),
        Guid.Parse(reader.GetString(reader.GetOrdinal("network_id"))),
        reader.GetString(reader.GetOrdinal("tap")),
        reader.GetString(reader.GetOrdinal("mac_address")),
        (uint)reader.GetInt64(reader.GetOrdinal("ip_address")),
        (int?)reader.GetNullableInt64("max_bandwidth_mbps"),
        reader.GetBoolean(reader.GetOrdinal("plugged")));

    private static PortMappingRecord ReadPortMapping(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(reader.GetOrdinal("vm_id"))),
        Enum.Parse<PortProtocol>(reader.GetString(reader.GetOrdinal("protocol"))),
        reader.GetNullableString("host_address") is { } address ? Ipv4Subnet.TryParseAddress(address) : null,
        reader.GetInt32(reader.GetOrdinal("host_port")),
        reader.GetInt32(reader.GetOrdinal("vm_port")));
}
