using VmPs.Core.Network.Firewall;
using VmPs.Core.Network.Netlink;
using VmPs.Core.State;

namespace VmPs.Core.Network;

/// <summary>
/// VmPs networks (a bridge, its firewall chains and its address pool) and the VMs' adapters on
/// them (a persistent TAP, an address, a MAC, published ports). Rows live in the state database;
/// interfaces and rules live in <see cref="NetworkNamespace"/>. Reads compare the host with the
/// rows and report what differs without changing anything; a network is brought back to its rows
/// when it is created, when a VM on it is plugged, and by <see cref="RepairAsync"/>. Every change
/// writes its row first and the host second (removal: host first, row last), so a crash in between
/// leaves a row that the next change or repair completes or removes.
/// </summary>
public sealed class NetworkManager : INetworkManager
{
    public const string DefaultNetworkName = "default";
    public const string DefaultSubnet = "10.100.0.0/16";
    public const int DefaultMtu = 1500;
    public static readonly IReadOnlyList<string> DefaultDns = ["1.1.1.1"];

    private readonly NetworkStore store;
    private readonly Lazy<HostFirewall> firewall;

    /// <param name="firewallBackend">The firewall for the rules; default: $VMPS_FIREWALL, else nftables when installed, else iptables.</param>
    public NetworkManager(VmPsPaths paths, NetworkNamespace networkNamespace, FirewallBackend? firewallBackend = null)
        : this(paths, new StateDatabase(paths.StateDatabase), networkNamespace, firewallBackend)
    {
    }

    internal NetworkManager(VmPsPaths paths, StateDatabase database, NetworkNamespace networkNamespace, FirewallBackend? firewallBackend)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(networkNamespace);
        Namespace = networkNamespace;
        store = new NetworkStore(database);
        firewall = new Lazy<HostFirewall>(() => FirewallSelection.Create(firewallBackend, networkNamespace));
    }

    public NetworkNamespace Namespace { get; }

    /// <summary>The firewall the rules go to. Errors: FirewallNotFound, InvalidFirewallBackend.</summary>
    public FirewallBackend FirewallBackend => Firewall.Backend;

    private HostFirewall Firewall => firewall.Value;

    /// <summary>Creates the network: row, bridge, rules. Errors: InvalidNetworkName, NetworkNameInUse, InvalidSubnet, SubnetConflict, SubnetOverlapsHostRoute, InvalidIPAddress, AddressOutOfSubnet, InvalidMtu, UplinkNotFound.</summary>
    public async Task<NetworkInfo> CreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken)
    {
        var plan = await PlanCreateAsync(options, cancellationToken).ConfigureAwait(false);
        var request = plan.Request;
        var network = await store.InsertNetworkAsync(
            (id, bridge) => request with { Id = id, Bridge = bridge, CreatedAt = DateTimeOffset.UtcNow },
            plan.EnsureNoConflict,
            cancellationToken).ConfigureAwait(false);

        try
        {
            await ReconcileAsync([network], plugging: null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await RemoveFromHostAsync(network, CancellationToken.None).ConfigureAwait(false);
            await store.DeleteNetworkAsync(network, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return ToInfo((await InspectAsync([network], cancellationToken).ConfigureAwait(false))[0]);
    }

    /// <summary>Every check <see cref="CreateAsync"/> makes before it creates anything (New-VmNetwork -WhatIf); nothing is changed.</summary>
    public async Task ValidateCreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken)
    {
        var plan = await PlanCreateAsync(options, cancellationToken).ConfigureAwait(false);
        plan.EnsureNoConflict(await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every network, compared with the host (Status, Problems); nothing is changed.</summary>
    public async Task<IReadOnlyList<NetworkInfo>> GetAllAsync(CancellationToken cancellationToken)
    {
        var networks = await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false);
        return (await InspectAsync(networks, cancellationToken).ConfigureAwait(false)).Select(ToInfo).ToList();
    }

    /// <summary>Every network as stored, without inspecting the host (Status Unknown; for completion and quick listings).</summary>
    public async Task<IReadOnlyList<NetworkInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var networks = await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false);
        var adapters = await store.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false);
        return networks.Select(network => ToInfo(network, adapters.Count(adapter => adapter.NetworkId == network.Id), NetworkStatus.Unknown, [])).ToList();
    }

    /// <summary>The network with this name (case-insensitive), compared with the host, or null. Nothing is changed.</summary>
    public async Task<NetworkInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        var network = await store.FindNetworkAsync(name, cancellationToken).ConfigureAwait(false);
        return network is null ? null : ToInfo((await InspectAsync([network], cancellationToken).ConfigureAwait(false))[0]);
    }

    /// <summary>The network with this name, compared with the host; throws NetworkNotFound.</summary>
    public async Task<NetworkInfo> GetAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name, cancellationToken).ConfigureAwait(false) ?? throw NetworkErrors.NotFound(name);

    /// <summary>The `default` network (10.100.0.0/16, NAT), created on first use.</summary>
    public async Task<NetworkInfo> EnsureDefaultAsync(CancellationToken cancellationToken)
    {
        if (await FindAsync(DefaultNetworkName, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        try
        {
            return await CreateAsync(new NetworkCreateOptions { Name = DefaultNetworkName, Subnet = DefaultSubnet }, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.NetworkNameInUse)
        {
            return await GetAsync(DefaultNetworkName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes the network's bridge, rules and row. Refused (NetworkInUse) while VMs have adapters
    /// on it, unless <paramref name="force"/>: then those adapters are released first (their TAPs,
    /// port mappings and addresses go; the VMs keep running without a network).
    /// </summary>
    public async Task RemoveAsync(string name, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        var network = await store.FindNetworkAsync(name, cancellationToken).ConfigureAwait(false) ?? throw NetworkErrors.NotFound(name);
        var adapters = (await store.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false)).Where(a => a.NetworkId == network.Id).ToList();
        if (adapters.Count > 0 && !force)
        {
            throw NetworkErrors.InUse(network.Name, adapters.Select(a => a.VmName));
        }

        foreach (var adapter in adapters)
        {
            await ReleaseAdapterAsync(adapter.VmId, cancellationToken).ConfigureAwait(false);
        }

        await RemoveFromHostAsync(network, cancellationToken).ConfigureAwait(false);
        await store.DeleteNetworkAsync(network, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Allocates the VM's adapter on <paramref name="network"/> (an address, its MAC: the VM row's
    /// mac_address when the VM exists, a TAP name) under one immediate transaction. Nothing is
    /// created on the host until <see cref="PlugAsync"/>. The `default` network is created on demand.
    /// Errors: NetworkNotFound, NetworkAdapterExists, AddressInUse, AddressOutOfSubnet, AddressReserved,
    /// InvalidIPAddress, AddressPoolExhausted, InvalidBandwidth.
    /// </summary>
    public async Task<NetworkAdapterInfo> AllocateAdapterAsync(
        Guid vmId,
        string vmName,
        string network,
        string? requestedIPAddress,
        int? maxBandwidthMbps,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vmName);
        ArgumentNullException.ThrowIfNull(network);
        var address = ValidateAdapterRequest(requestedIPAddress, maxBandwidthMbps);
        var record = string.Equals(network, DefaultNetworkName, StringComparison.OrdinalIgnoreCase)
            ? await EnsureDefaultRecordAsync(cancellationToken).ConfigureAwait(false)
            : await store.FindNetworkAsync(network, cancellationToken).ConfigureAwait(false) ?? throw NetworkErrors.NotFound(network);
        var adapter = await store.AllocateAdapterAsync(new AdapterRequest(vmId, vmName, record.Id, address, maxBandwidthMbps), cancellationToken).ConfigureAwait(false);
        return ToInfo(adapter, record, NetworkAdapterStatus.Unplugged);
    }

    /// <summary>
    /// Every check <see cref="AllocateAdapterAsync"/> makes before it allocates (New-Vm -WhatIf): the address and
    /// bandwidth, the network (the `default` one exists once used), and an address inside its subnet. Nothing is changed.
    /// </summary>
    internal async Task ValidateAdapterAsync(string network, string? requestedIPAddress, int? maxBandwidthMbps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        var address = ValidateAdapterRequest(requestedIPAddress, maxBandwidthMbps);
        var record = await store.FindNetworkAsync(network, cancellationToken).ConfigureAwait(false);
        if (record is null && !string.Equals(network, DefaultNetworkName, StringComparison.OrdinalIgnoreCase))
        {
            throw NetworkErrors.NotFound(network);
        }

        var subnet = record is not null ? record.Subnet : Ipv4Subnet.TryParse(DefaultSubnet, out _)!.Value;
        if (address is { } requested && !subnet.Contains(requested))
        {
            throw NetworkErrors.AddressOutOfSubnet(requestedIPAddress!, subnet.ToString(), "IP address");
        }
    }

    /// <summary>
    /// Before the hypervisor starts: the network brought back to its rows (bridge, rules), and the VM's
    /// persistent TAP made or repaired (up on the bridge, MTU, isolation, tc limit). Idempotent.
    /// </summary>
    public async Task<NetworkAdapterInfo> PlugAsync(Guid vmId, CancellationToken cancellationToken)
    {
        var (adapter, network) = await GetAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
        await store.SetPluggedAsync(vmId, true, cancellationToken).ConfigureAwait(false);
        adapter = adapter with { Plugged = true };
        await ReconcileAsync([network], plugging: adapter, cancellationToken).ConfigureAwait(false);
        return (await InspectAdaptersAsync([adapter], new Dictionary<Guid, NetworkRecord> { [network.Id] = network }, cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// Brings the network back to its rows and reports what was done (with <paramref name="dryRun"/>,
    /// what would be done, changing nothing): the bridge, its gateway address, forwarding and the
    /// firewall rules are restored; a TAP a hypervisor is attached to is put back on the bridge; the
    /// TAPs of VMs that are not running (not in <paramref name="activeVms"/>) are unplugged. A TAP
    /// of a running VM that its hypervisor is no longer attached to cannot be repaired in place (a new
    /// TAP would not reach the hypervisor): it is reported as unrepairable, to be fixed by a restart.
    /// Errors: NetworkNotFound.
    /// </summary>
    public async Task<NetworkRepairResult> RepairAsync(string name, IReadOnlySet<Guid> activeVms, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(activeVms);
        var network = await store.FindNetworkAsync(name, cancellationToken).ConfigureAwait(false) ?? throw NetworkErrors.NotFound(name);
        var found = (await InspectAsync([network], cancellationToken).ConfigureAwait(false))[0];
        var plan = NetworkRepairPlan.For(found, activeVms);
        if (dryRun || plan.Repairs.Count == 0)
        {
            return new NetworkRepairResult { Network = ToInfo(found), Repairs = plan.Repairs, Unrepairable = plan.Unrepairable };
        }

        foreach (var adapter in plan.Unplug)
        {
            await UnplugAsync(adapter.VmId, cancellationToken).ConfigureAwait(false);
        }

        await ReconcileAsync([network], plugging: null, cancellationToken).ConfigureAwait(false);
        var repaired = (await InspectAsync([network], cancellationToken).ConfigureAwait(false))[0];
        return new NetworkRepairResult { Network = ToInfo(repaired), Repairs = plan.Repairs, Unrepairable = plan.Unrepairable };
    }

    /// <summary>After the VM stopped: deletes the TAP (and with it its tc limit). The allocation and port mappings stay.</summary>
    public async Task UnplugAsync(Guid vmId, CancellationToken cancellationToken)
    {
        var (adapter, _) = await GetAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
        await DeleteInterfaceAsync(adapter.Tap, cancellationToken).ConfigureAwait(false);
        await store.SetPluggedAsync(vmId, false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Remove-Vm: TAP, port mapping rules and rows go; the address returns to the pool. No error when there is no adapter.</summary>
    public async Task ReleaseAdapterAsync(Guid vmId, CancellationToken cancellationToken)
    {
        var adapter = (await store.GetAdaptersAsync(vmId, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
        if (adapter is null)
        {
            return;
        }

        var network = (await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false)).Single(n => n.Id == adapter.NetworkId);
        await DeleteInterfaceAsync(adapter.Tap, cancellationToken).ConfigureAwait(false);
        await ApplyRulesAsync(network, excludeVm: vmId, cancellationToken).ConfigureAwait(false);
        await store.DeleteAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The adapter of one VM (or every adapter when <paramref name="vmId"/> is null), each with its TAP's status; nothing is changed.</summary>
    public async Task<IReadOnlyList<NetworkAdapterInfo>> GetAdaptersAsync(Guid? vmId, CancellationToken cancellationToken)
    {
        var networks = (await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(n => n.Id);
        var adapters = await store.GetAdaptersAsync(vmId, cancellationToken).ConfigureAwait(false);
        return await InspectAdaptersAsync(adapters, networks, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes a VM port on the host. Errors: NetworkAdapterNotFound, InvalidPort, PortInUse, InvalidIPAddress, HostAddressNotLocal.</summary>
    public async Task<PortMappingInfo> AddPortMappingAsync(Guid vmId, PortMappingOptions options, CancellationToken cancellationToken)
    {
        var hostAddress = ValidatePortMapping(options);
        var (adapter, network) = await GetAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
        var mapping = new PortMappingRecord(vmId, options.Protocol, hostAddress, options.HostPort, options.VmPort);
        await Namespace.RunAsync(() => HostPortProbe.EnsureFree(mapping), cancellationToken).ConfigureAwait(false);
        await store.InsertPortMappingAsync(mapping, cancellationToken).ConfigureAwait(false);
        try
        {
            await ApplyRulesAsync(network, excludeVm: null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DeletePortMappingAsync(vmId, mapping.Protocol, mapping.HostPort, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return ToInfo(mapping, adapter, network);
    }

    /// <summary>The checks of <see cref="AddPortMappingAsync"/> short of probing the host port (Add-VmPortMapping -WhatIf); nothing is changed.</summary>
    public async Task ValidatePortMappingAsync(Guid vmId, PortMappingOptions options, CancellationToken cancellationToken)
    {
        ValidatePortMapping(options);
        _ = await GetAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The ports and host address of a mapping; returns the parsed host address (null: every address).</summary>
    internal static uint? ValidatePortMapping(PortMappingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidatePort("host port", options.HostPort);
        ValidatePort("VM port", options.VmPort);
        return options.HostAddress is null
            ? null
            : Ipv4Subnet.TryParseAddress(options.HostAddress) ?? throw NetworkErrors.InvalidAddress("host address", options.HostAddress);
    }

    public async Task<IReadOnlyList<PortMappingInfo>> GetPortMappingsAsync(Guid? vmId, CancellationToken cancellationToken)
    {
        var networks = (await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(n => n.Id);
        var adapters = (await store.GetAdaptersAsync(vmId, cancellationToken).ConfigureAwait(false)).ToDictionary(a => a.VmId);
        return (await store.GetPortMappingsAsync(vmId, cancellationToken).ConfigureAwait(false))
            .Select(m => ToInfo(m, adapters[m.VmId], networks[adapters[m.VmId].NetworkId]))
            .ToList();
    }

    /// <summary>Removes the mapping of this host port; PortMappingNotFound when there is none for this VM.</summary>
    public async Task RemovePortMappingAsync(Guid vmId, PortProtocol protocol, int hostPort, CancellationToken cancellationToken)
    {
        var (adapter, network) = await GetAdapterAsync(vmId, cancellationToken).ConfigureAwait(false);
        if (!await store.DeletePortMappingAsync(vmId, protocol, hostPort, cancellationToken).ConfigureAwait(false))
        {
            throw NetworkErrors.PortMappingNotFound(adapter.VmName, hostPort, protocol);
        }

        await ApplyRulesAsync(network, excludeVm: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>New-VmNetwork's options validated, with what the host's routes say about its subnet.</summary>
    private async Task<CreatePlan> PlanCreateAsync(NetworkCreateOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var request = NetworkValidation.Validate(options);
        var (routes, routeDestinations, uplinkExists) = await InNamespaceAsync(
            "inspect host routes",
            () =>
            {
                using var host = new HostInterfaces();
                return (host.OverlappingRoutes(request.Subnet), host.RouteDestinations(), request.Uplink is null || host.Exists(request.Uplink));
            },
            cancellationToken).ConfigureAwait(false);
        if (!uplinkExists)
        {
            throw new VmPsException(VmPsErrorIds.UplinkNotFound, VmPsErrorKind.ObjectNotFound, $"The host has no interface named '{request.Uplink}'.", request.Uplink);
        }

        return new CreatePlan(request, routes, routeDestinations);
    }

    /// <summary>The address and bandwidth of an adapter request; returns the parsed address (null: the next free one).</summary>
    private uint? ValidateAdapterRequest(string? requestedIPAddress, int? maxBandwidthMbps)
    {
        uint? address = requestedIPAddress is null
            ? null
            : Ipv4Subnet.TryParseAddress(requestedIPAddress) ?? throw NetworkErrors.InvalidAddress("IP address", requestedIPAddress);
        if (maxBandwidthMbps is < 1)
        {
            throw new VmPsException(VmPsErrorIds.InvalidBandwidth, VmPsErrorKind.InvalidArgument, $"The bandwidth limit {maxBandwidthMbps} Mbit/s must be at least 1.", maxBandwidthMbps);
        }

        if (maxBandwidthMbps > Firewall.MaxBandwidthMbps)
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidBandwidth,
                VmPsErrorKind.InvalidArgument,
                $"The bandwidth limit {maxBandwidthMbps} Mbit/s is above the {Firewall.MaxBandwidthMbps} Mbit/s that {Firewall.Backend} can police.",
                maxBandwidthMbps);
        }

        return address;
    }

    private static void ValidatePort(string role, int port)
    {
        if (port is < 1 or > 65535)
        {
            throw NetworkErrors.InvalidPort(role, port);
        }
    }

    private async Task<NetworkRecord> EnsureDefaultRecordAsync(CancellationToken cancellationToken)
    {
        await EnsureDefaultAsync(cancellationToken).ConfigureAwait(false);
        return await store.FindNetworkAsync(DefaultNetworkName, cancellationToken).ConfigureAwait(false) ?? throw NetworkErrors.NotFound(DefaultNetworkName);
    }

    private async Task<(AdapterRecord Adapter, NetworkRecord Network)> GetAdapterAsync(Guid vmId, CancellationToken cancellationToken)
    {
        var adapter = (await store.GetAdaptersAsync(vmId, cancellationToken).ConfigureAwait(false)).SingleOrDefault()
            ?? throw NetworkErrors.AdapterNotFound(vmId);
        var network = (await store.GetNetworksAsync(cancellationToken).ConfigureAwait(false)).Single(n => n.Id == adapter.NetworkId);
        return (adapter, network);
    }

    /// <summary>
    /// Brings bridges and rules in line with the rows, makes the TAP of the adapter being
    /// <paramref name="plugging"/> (with its bandwidth limit), and puts back on their bridge the TAPs
    /// of other plugged adapters that a hypervisor is attached to (see <see cref="HostInterfaces.RepairAttachedTap"/>).
    /// </summary>
    private async Task ReconcileAsync(IReadOnlyList<NetworkRecord> networks, AdapterRecord? plugging, CancellationToken cancellationToken)
    {
        var adapters = await store.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false);
        await InNamespaceAsync(
            "configure the network interfaces",
            () =>
            {
                using var host = new HostInterfaces();
                foreach (var network in networks)
                {
                    var bridge = host.EnsureBridge(network);
                    foreach (var adapter in adapters.Where(a => a.NetworkId == network.Id && a.Plugged))
                    {
                        if (adapter.VmId == plugging?.VmId)
                        {
                            host.EnsureTap(network, bridge, adapter);
                        }
                        else
                        {
                            host.RepairAttachedTap(network, bridge, adapter);
                        }
                    }
                }
            },
            cancellationToken).ConfigureAwait(false);

        if (plugging?.MaxBandwidthMbps is { } mbps)
        {
            await TrafficControl.ApplyAsync(Namespace, plugging.Tap, mbps, cancellationToken).ConfigureAwait(false);
        }

        var mappings = await store.GetPortMappingsAsync(null, cancellationToken).ConfigureAwait(false);
        await Firewall.SyncAsync(networks.Select(network => PolicyOf(network, adapters, mappings, excludeVm: null)).ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Each network's bridge, forwarding settings, rules and adapters compared with the rows; nothing is changed.</summary>
    private async Task<List<NetworkHealth>> InspectAsync(IReadOnlyList<NetworkRecord> networks, CancellationToken cancellationToken)
    {
        var adapters = await store.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false);
        var found = await InNamespaceAsync(
            "inspect the network interfaces",
            () =>
            {
                using var host = new HostInterfaces();
                return networks
                    .Select(network => (
                        Network: network,
                        Drift: host.InspectBridge(network),
                        Adapters: adapters.Where(a => a.NetworkId == network.Id).Select(a => host.InspectTap(network, a)).ToList()))
                    .ToList();
            },
            cancellationToken).ConfigureAwait(false);

        var mappings = await store.GetPortMappingsAsync(null, cancellationToken).ConfigureAwait(false);
        var stale = await Firewall.StaleAsync(networks.Select(network => PolicyOf(network, adapters, mappings, excludeVm: null)).ToList(), cancellationToken)
            .ConfigureAwait(false);
        return found
            .Select(entry => new NetworkHealth(
                entry.Network,
                stale.Contains(entry.Network.Id)
                    ? [.. entry.Drift, new HostDrift($"the {Firewall.Backend} rules differ from the network's policy", $"rewrite the network's {Firewall.Backend} rules")]
                    : entry.Drift,
                entry.Adapters))
            .ToList();
    }

    /// <summary>The adapters with their TAPs' status; nothing is changed.</summary>
    private async Task<List<NetworkAdapterInfo>> InspectAdaptersAsync(IReadOnlyList<AdapterRecord> adapters, IReadOnlyDictionary<Guid, NetworkRecord> networks, CancellationToken cancellationToken)
    {
        if (adapters.Count == 0)
        {
            return [];
        }

        var found = await InNamespaceAsync(
            "inspect the TAPs",
            () =>
            {
                using var host = new HostInterfaces();
                return adapters.Select(adapter => host.InspectTap(networks[adapter.NetworkId], adapter)).ToList();
            },
            cancellationToken).ConfigureAwait(false);
        return found.Select(health => ToInfo(health.Adapter, networks[health.Adapter.NetworkId], health.Status)).ToList();
    }

    private async Task ApplyRulesAsync(NetworkRecord network, Guid? excludeVm, CancellationToken cancellationToken)
    {
        var adapters = await store.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false);
        var mappings = await store.GetPortMappingsAsync(null, cancellationToken).ConfigureAwait(false);
        await Firewall.SyncAsync([PolicyOf(network, adapters, mappings, excludeVm)], cancellationToken).ConfigureAwait(false);
    }

    private static NetworkPolicy PolicyOf(NetworkRecord network, List<AdapterRecord> adapters, List<PortMappingRecord> mappings, Guid? excludeVm)
    {
        var members = adapters.Where(a => a.NetworkId == network.Id && a.VmId != excludeVm).ToDictionary(a => a.VmId);
        var ports = mappings
            .Where(m => members.ContainsKey(m.VmId))
            .Select(m => new PublishedPort(m, members[m.VmId].Address))
            .ToList();
        return NetworkPolicy.For(network, ports, members.Values.Where(a => a.MaxBandwidthMbps is not null).ToList());
    }

    /// <summary>Deletes the network's firewall chains, then its bridge.</summary>
    private async Task RemoveFromHostAsync(NetworkRecord network, CancellationToken cancellationToken)
    {
        await Firewall.RemoveAsync(network, cancellationToken).ConfigureAwait(false);
        await DeleteInterfaceAsync(network.Bridge, cancellationToken).ConfigureAwait(false);
    }

    private Task DeleteInterfaceAsync(string name, CancellationToken cancellationToken) =>
        InNamespaceAsync(
            $"delete {name}",
            () =>
            {
                using var netlink = new RouteNetlink();
                return netlink.DeleteLinkIfExists(name);
            },
            cancellationToken);

    private Task InNamespaceAsync(string operation, Action work, CancellationToken cancellationToken) =>
        InNamespaceAsync(
            operation,
            () =>
            {
                work();
                return true;
            },
            cancellationToken);

    /// <summary>Runs netlink work in the namespace, turning kernel refusals into HostNetworkFailed.</summary>
    private async Task<T> InNamespaceAsync<T>(string operation, Func<T> work, CancellationToken cancellationToken)
    {
        try
        {
            return await Namespace.RunAsync(work, cancellationToken).ConfigureAwait(false);
        }
        catch (NetlinkException ex)
        {
            throw NetworkErrors.HostNetworkFailed(operation, ex);
        }
    }

    private static NetworkInfo ToInfo(NetworkHealth health)
    {
        var problems = health.Problems;
        return ToInfo(health.Network, health.Adapters.Count, problems.Count == 0 ? NetworkStatus.Healthy : NetworkStatus.Degraded, problems);
    }

    private static NetworkInfo ToInfo(NetworkRecord network, int count, NetworkStatus status, IReadOnlyList<string> problems)
    {
        return new NetworkInfo
        {
            Id = network.Id,
            Name = network.Name,
            Bridge = network.Bridge,
            Subnet = network.Subnet.ToString(),
            PrefixLength = network.Subnet.PrefixLength,
            Gateway = Ipv4Subnet.FormatAddress(network.Gateway),
            Nat = network.Nat,
            Isolated = network.Isolated,
            Dns = network.Dns,
            UplinkInterface = network.Uplink,
            Mtu = network.Mtu,
            VmCount = count,
            FreeAddresses = network.Subnet.HostCount - 1 - count,
            CreatedAt = network.CreatedAt,
            Status = status,
            Problems = problems,
        };
    }

    private static NetworkAdapterInfo ToInfo(AdapterRecord adapter, NetworkRecord network, NetworkAdapterStatus status) => new()
    {
        VmId = adapter.VmId,
        VmName = adapter.VmName,
        Network = network.Name,
        Tap = adapter.Tap,
        MacAddress = adapter.MacAddress,
        IPAddress = Ipv4Subnet.FormatAddress(adapter.Address),
        PrefixLength = network.Subnet.PrefixLength,
        Gateway = Ipv4Subnet.FormatAddress(network.Gateway),
        Dns = network.Dns,
        Mtu = network.Mtu,
        MaxBandwidthMbps = adapter.MaxBandwidthMbps,
        Plugged = adapter.Plugged,
        Status = status,
    };

    private static PortMappingInfo ToInfo(PortMappingRecord mapping, AdapterRecord adapter, NetworkRecord network) => new()
    {
        VmId = mapping.VmId,
        VmName = adapter.VmName,
        Network = network.Name,
        Protocol = mapping.Protocol,
        HostAddress = mapping.HostAddress is { } address ? Ipv4Subnet.FormatAddress(address) : null,
        HostPort = mapping.HostPort,
        VmAddress = Ipv4Subnet.FormatAddress(adapter.Address),
        VmPort = mapping.VmPort,
    };

    /// <summary>A validated New-VmNetwork request and the host routes its subnet must not overlap.</summary>
    private sealed record CreatePlan(NetworkRecord Request, IReadOnlyList<(RouteEntry Route, string? Interface)> Routes, IReadOnlyList<Ipv4Subnet> RouteDestinations)
    {
        /// <summary>Run against the stored networks (inside the insert's transaction): the name and subnet are free.</summary>
        public void EnsureNoConflict(IReadOnlyList<NetworkRecord> existing)
        {
            if (existing.FirstOrDefault(n => string.Equals(n.Name, Request.Name, StringComparison.OrdinalIgnoreCase)) is { } sameName)
            {
                throw NetworkErrors.NameInUse(sameName.Name);
            }

            var taken = existing.Select(n => n.Subnet).Concat(RouteDestinations).ToList();
            if (existing.FirstOrDefault(n => n.Subnet.Overlaps(Request.Subnet)) is { } overlapping)
            {
                throw NetworkErrors.SubnetConflict(Request.Subnet.ToString(), overlapping.Name, overlapping.Subnet.ToString(), FreeSubnet.Find(Request.Subnet.PrefixLength, taken));
            }

            if (Routes.Count > 0)
            {
                var (route, interfaceName) = Routes[0];
                throw NetworkErrors.OverlapsHostRoute(Request.Subnet.ToString(), route.Destination.ToString(), interfaceName, FreeSubnet.Find(Request.Subnet.PrefixLength, taken));
            }
        }
    }
}
