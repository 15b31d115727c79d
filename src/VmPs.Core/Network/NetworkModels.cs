using Newtonsoft.Json.Converters;

namespace VmPs.Core.Network;

/// <summary>The host firewall that holds VmPs networks' NAT, isolation and published-port rules.</summary>
public enum FirewallBackend
{
    /// <summary>The `inet vmps` nftables table, written through libnftables.</summary>
    Nftables,

    /// <summary>VMPS-* chains in iptables' filter and nat tables, written with iptables-restore (for hosts without nftables).</summary>
    Iptables,
}

/// <summary>Whether a network's host side is as its records describe.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum NetworkStatus
{
    /// <summary>Not inspected: the network as stored (listings for completion).</summary>
    Unknown,

    /// <summary>Bridge, gateway address, forwarding, firewall rules and the VMs' TAPs are as they should be.</summary>
    Healthy,

    /// <summary>Something differs (NetworkInfo.Problems says what); Repair-VmNetwork fixes what can be fixed in place.</summary>
    Degraded,
}

/// <summary>A VM adapter's TAP as found on the host.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum NetworkAdapterStatus
{
    /// <summary>The VM is not running and has no TAP, as it should be.</summary>
    Unplugged,

    /// <summary>The TAP is up on the network's bridge, and the hypervisor is attached to it.</summary>
    Connected,

    /// <summary>The hypervisor is attached, but the TAP is off its bridge, down, or has the wrong MTU or isolation: Repair-VmNetwork fixes it.</summary>
    Degraded,

    /// <summary>
    /// The adapter is plugged, but its TAP is missing or no hypervisor is attached to it (the VM is
    /// starting, its hypervisor died, or the TAP was deleted under it): the VM has no network. A running
    /// VM gets it back by restarting; for a VM that is not running Repair-VmNetwork removes the TAP.
    /// </summary>
    Detached,

    /// <summary>The adapter is unplugged, yet its TAP is still on the host: Repair-VmNetwork deletes it.</summary>
    Leftover,
}

/// <summary>What New-VmNetwork asks for. Subnet is IPv4 CIDR with the host bits zero ("10.100.0.0/16").</summary>
public sealed record NetworkCreateOptions
{
    public required string Name { get; init; }

    public required string Subnet { get; init; }

    /// <summary>The host's address on the bridge; default: the subnet's first address.</summary>
    public string? Gateway { get; init; }

    /// <summary>Masquerade the VMs' traffic out of the host. Off: a host-only network (VMs reach the gateway and each other only).</summary>
    public bool Nat { get; init; } = true;

    /// <summary>Also block VM-to-VM traffic on this network (bridge port isolation).</summary>
    public bool Isolated { get; init; }

    /// <summary>Name servers handed to the guests; default: the gateway's upstream default (1.1.1.1).</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];

    /// <summary>Restricts NAT to this host interface; default: whichever the host routes through.</summary>
    public string? UplinkInterface { get; init; }

    /// <summary>MTU of the bridge and every TAP; default 1500.</summary>
    public int? Mtu { get; init; }
}

/// <summary>A VmPs network as Get-VmNetwork shows it.</summary>
public sealed record NetworkInfo
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required string Bridge { get; init; }

    /// <summary>CIDR, for example "10.100.0.0/16".</summary>
    public required string Subnet { get; init; }

    public required int PrefixLength { get; init; }

    public required string Gateway { get; init; }

    public required bool Nat { get; init; }

    public required bool Isolated { get; init; }

    public required IReadOnlyList<string> Dns { get; init => field = DisplayList.Of(value); }

    public string? UplinkInterface { get; init; }

    public required int Mtu { get; init; }

    /// <summary>VMs with an adapter on this network.</summary>
    public required int VmCount { get; init; }

    /// <summary>Addresses still free for VMs (network, gateway and broadcast excluded).</summary>
    public required long FreeAddresses { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Healthy when the host matches the network's records; reading never changes the host.</summary>
    public required NetworkStatus Status { get; init; }

    /// <summary>What differs on the host, one sentence each; empty when Healthy.</summary>
    public required IReadOnlyList<string> Problems { get; init => field = DisplayList.Of(value); }
}

/// <summary>What Repair-VmNetwork did to a network (or, for a dry run, would do).</summary>
public sealed record NetworkRepairResult
{
    /// <summary>The network after the repair (as found, for a dry run).</summary>
    public required NetworkInfo Network { get; init; }

    /// <summary>The repairs, one sentence each; empty when there was nothing to repair.</summary>
    public required IReadOnlyList<string> Repairs { get; init => field = DisplayList.Of(value); }

    /// <summary>What a repair cannot fix in place, each with what the user can do about it.</summary>
    public required IReadOnlyList<string> Unrepairable { get; init => field = DisplayList.Of(value); }
}

/// <summary>A VM's adapter: what the hypervisor (Tap, MacAddress) and the guest (the rest) need.</summary>
public sealed record NetworkAdapterInfo
{
    public required Guid VmId { get; init; }

    public required string VmName { get; init; }

    public required string Network { get; init; }

    /// <summary>The persistent TAP's name (exists while the adapter is plugged).</summary>
    public required string Tap { get; init; }

    public required string MacAddress { get; init; }

    public required string IPAddress { get; init; }

    public required int PrefixLength { get; init; }

    public required string Gateway { get; init; }

    public required IReadOnlyList<string> Dns { get; init => field = DisplayList.Of(value); }

    public required int Mtu { get; init; }

    public int? MaxBandwidthMbps { get; init; }

    /// <summary>True between PlugAsync and UnplugAsync (the VM is running).</summary>
    public required bool Plugged { get; init; }

    /// <summary>The TAP as found on the host: Connected while the VM runs with its network.</summary>
    public required NetworkAdapterStatus Status { get; init; }
}

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum PortProtocol
{
    Tcp,
    Udp,
}

/// <summary>What Add-VmPortMapping (and New-Vm -Publish) asks for.</summary>
public sealed record PortMappingOptions
{
    public required int HostPort { get; init; }

    public required int VmPort { get; init; }

    public PortProtocol Protocol { get; init; } = PortProtocol.Tcp;

    /// <summary>Only this host address; default: every host address, 127.0.0.1 and the gateway included.</summary>
    public string? HostAddress { get; init; }
}

/// <summary>A published port.</summary>
public sealed record PortMappingInfo
{
    public required Guid VmId { get; init; }

    public required string VmName { get; init; }

    public required string Network { get; init; }

    public required PortProtocol Protocol { get; init; }

    /// <summary>Null: every host address.</summary>
    public string? HostAddress { get; init; }

    public required int HostPort { get; init; }

    public required string VmAddress { get; init; }

    public required int VmPort { get; init; }
}
