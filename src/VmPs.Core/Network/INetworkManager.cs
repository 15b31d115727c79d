namespace VmPs.Core.Network;

/// <summary>
/// The network operations behind the network cmdlets (New-/Get-/Remove-VmNetwork and the port
/// mapping cmdlets; Repair-VmNetwork goes through <see cref="Vms.IVmManager.RepairNetworkAsync"/>). <see cref="NetworkManager"/> is the real one; cmdlet tests use fakes.
/// </summary>
public interface INetworkManager
{
    /// <summary>Creates the network: row, bridge, rules.</summary>
    Task<NetworkInfo> CreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="CreateAsync"/> short of creating (New-VmNetwork -WhatIf); nothing is changed.</summary>
    Task ValidateCreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken);

    /// <summary>Every network, compared with the host (Status, Problems); nothing is changed.</summary>
    Task<IReadOnlyList<NetworkInfo>> GetAllAsync(CancellationToken cancellationToken);

    /// <summary>Every network as stored, without inspecting the host (Status Unknown).</summary>
    Task<IReadOnlyList<NetworkInfo>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The network with this name (case-insensitive), compared with the host, or null.</summary>
    Task<NetworkInfo?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>The network with this name, compared with the host; throws NetworkNotFound.</summary>
    Task<NetworkInfo> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Brings the network back to its records, leaving the TAPs of <paramref name="activeVms"/> alone; with <paramref name="dryRun"/>, only says what it would do.</summary>
    Task<NetworkRepairResult> RepairAsync(string name, IReadOnlySet<Guid> activeVms, bool dryRun, CancellationToken cancellationToken);

    /// <summary>Removes the network; refused while VMs are on it unless <paramref name="force"/>.</summary>
    Task RemoveAsync(string name, bool force, CancellationToken cancellationToken);

    /// <summary>The adapter of one VM (or every adapter when <paramref name="vmId"/> is null), with its TAP's status.</summary>
    Task<IReadOnlyList<NetworkAdapterInfo>> GetAdaptersAsync(Guid? vmId, CancellationToken cancellationToken);

    /// <summary>Publishes a VM port on the host.</summary>
    Task<PortMappingInfo> AddPortMappingAsync(Guid vmId, PortMappingOptions options, CancellationToken cancellationToken);

    /// <summary>The checks of <see cref="AddPortMappingAsync"/> short of probing the host port (Add-VmPortMapping -WhatIf).</summary>
    Task ValidatePortMappingAsync(Guid vmId, PortMappingOptions options, CancellationToken cancellationToken);

    /// <summary>The port mappings of one VM (or all of them when <paramref name="vmId"/> is null).</summary>
    Task<IReadOnlyList<PortMappingInfo>> GetPortMappingsAsync(Guid? vmId, CancellationToken cancellationToken);

    /// <summary>Removes the mapping of this host port; PortMappingNotFound when there is none for this VM.</summary>
    Task RemovePortMappingAsync(Guid vmId, PortProtocol protocol, int hostPort, CancellationToken cancellationToken);
}
