using VmPs.Core.Network.Netlink;

namespace VmPs.Core.Network;

/// <summary>A networks row.</summary>
internal sealed record NetworkRecord(
    Guid Id,
    string Name,
    string Bridge,
    Ipv4Subnet Subnet,
    uint Gateway,
    bool Nat,
    bool Isolated,
    IReadOnlyList<string> Dns,
    string? Uplink,
    int Mtu,
    DateTimeOffset CreatedAt);

/// <summary>A network_adapters row.</summary>
internal sealed record AdapterRecord(
    Guid VmId,
    string VmName,
    Guid NetworkId,
    string Tap,
    string MacAddress,
    uint Address,
    int? MaxBandwidthMbps,
    bool Plugged);

/// <summary>A port_mappings row; a null host address means every host address.</summary>
internal sealed record PortMappingRecord(Guid VmId, PortProtocol Protocol, uint? HostAddress, int HostPort, int VmPort);

/// <summary>An adapter request, validated against the network inside the allocating transaction.</summary>
internal sealed record AdapterRequest(Guid VmId, string VmName, Guid NetworkId, uint? Address, int? MaxBandwidthMbps);

/// <summary>One way a network's bridge, forwarding or rules differ from its rows, and the repair.</summary>
internal sealed record HostDrift(string Problem, string Repair);

/// <summary>An adapter with its TAP as found (null: no such interface) and the status that gives it.</summary>
internal sealed record AdapterHealth(AdapterRecord Adapter, LinkEntry? Tap, NetworkAdapterStatus Status, string? Problem);

/// <summary>A network as found on the host: the drift of its own parts and the health of its adapters.</summary>
internal sealed record NetworkHealth(NetworkRecord Network, IReadOnlyList<HostDrift> Drift, IReadOnlyList<AdapterHealth> Adapters)
{
    public IReadOnlyList<string> Problems => Drift.Select(drift => drift.Problem).Concat(Adapters.Select(adapter => adapter.Problem).OfType<string>()).ToList();
}
