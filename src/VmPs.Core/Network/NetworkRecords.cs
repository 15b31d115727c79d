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
