namespace VmPs.Core.Network;

/// <summary>
/// VmPs networks (a bridge, its nftables chains and its address pool) and the VMs' adapters on
/// them (a persistent TAP, an address, a MAC, published ports). Rows live in the state database;
/// interfaces and rules live in <see cref="NetworkNamespace"/> and are repaired from the rows
/// whenever a network or adapter is read or plugged.
/// </summary>
public sealed class NetworkManager
{
    public const string DefaultNetworkName = "default";

    public NetworkManager(VmPsPaths paths, NetworkNamespace networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(networkNamespace);
        Namespace = networkNamespace;
    }

    public NetworkNamespace Namespace { get; }

    /// <summary>Creates the network: row, bridge, rules. Errors: InvalidNetworkName, NetworkNameInUse, InvalidSubnet, SubnetConflict, SubnetOverlapsHostRoute, InvalidGateway, InvalidDns, InvalidMtu.</summary>
    public Task<NetworkInfo> CreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Every network, each repaired (bridge, address, rules, plugged TAPs) if something is missing.</summary>
    public Task<IReadOnlyList<NetworkInfo>> GetAllAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The network with this name (case-insensitive), repaired, or null.</summary>
    public Task<NetworkInfo?> FindAsync(string name, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The network with this name, repaired; throws NetworkNotFound.</summary>
    public Task<NetworkInfo> GetAsync(string name, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The `default` network (10.100.0.0/16, NAT), created on first use.</summary>
    public Task<NetworkInfo> EnsureDefaultAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Removes the network's bridge, rules and row. Refused (NetworkInUse) while VMs have adapters
    /// on it, unless <paramref name="force"/>: then those adapters are released first (their TAPs,
    /// port mappings and addresses go; the VMs keep running without a network).
    /// </summary>
    public Task RemoveAsync(string name, bool force, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Allocates the VM's adapter on <paramref name="network"/> (an address, its MAC: the VM row's
    /// mac_address when the VM exists, a TAP name) under one immediate transaction. Nothing is
    /// created on the host until <see cref="PlugAsync"/>. The `default` network is created on demand.
    /// Errors: NetworkNotFound, AdapterExists, AddressInUse, AddressOutOfSubnet, AddressReserved,
    /// InvalidIPAddress, AddressPoolExhausted, InvalidBandwidth.
    /// </summary>
    public Task<NetworkAdapterInfo> AllocateAdapterAsync(
        Guid vmId,
        string vmName,
        string network,
        string? requestedIPAddress,
        int? maxBandwidthMbps,
        CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Before the hypervisor starts: bridge, persistent TAP on it (up, MTU, isolation), rules and tc limit. Idempotent.</summary>
    public Task<NetworkAdapterInfo> PlugAsync(Guid vmId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>After the VM stopped: deletes the TAP (and with it its tc limit). The allocation and port mappings stay.</summary>
    public Task UnplugAsync(Guid vmId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Remove-Vm: TAP, port mapping rules and rows go; the address returns to the pool. No error when there is no adapter.</summary>
    public Task ReleaseAdapterAsync(Guid vmId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The adapter of one VM (or every adapter when <paramref name="vmId"/> is null).</summary>
    public Task<IReadOnlyList<NetworkAdapterInfo>> GetAdaptersAsync(Guid? vmId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Publishes a VM port on the host. Errors: NetworkAdapterNotFound, InvalidPort, PortInUse, InvalidHostAddress.</summary>
    public Task<PortMappingInfo> AddPortMappingAsync(Guid vmId, PortMappingOptions options, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task<IReadOnlyList<PortMappingInfo>> GetPortMappingsAsync(Guid? vmId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Removes the mapping of this host port; PortMappingNotFound when there is none for this VM.</summary>
    public Task RemovePortMappingAsync(Guid vmId, PortProtocol protocol, int hostPort, CancellationToken cancellationToken) => throw new NotImplementedException();
}
