namespace VmPs.Core.Network;

/// <summary>The network errors users see, each with a stable ErrorId.</summary>
internal static class NetworkErrors
{
    public static VmPsException NotFound(string name) => new(
        VmPsErrorIds.NetworkNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No VM network named '{name}' exists.",
        name)
    {
        RecommendedAction = "List networks with Get-VmNetwork, or create one with New-VmNetwork.",
    };

    public static VmPsException NameInUse(string name) => new(
        VmPsErrorIds.NetworkNameInUse,
        VmPsErrorKind.ResourceExists,
        $"A VM network named '{name}' already exists.",
        name)
    {
        RecommendedAction = "Choose another name, or remove the existing network with Remove-VmNetwork.",
    };

    public static VmPsException InvalidName(string name) => new(
        VmPsErrorIds.InvalidNetworkName,
        VmPsErrorKind.InvalidArgument,
        $"'{name}' is not a valid network name: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.",
        name);

    public static VmPsException InvalidSubnet(string subnet, string reason) => new(
        VmPsErrorIds.InvalidSubnet,
        VmPsErrorKind.InvalidArgument,
        $"'{subnet}' is not a usable VM subnet: {reason}.",
        subnet)
    {
        RecommendedAction = "Give an IPv4 network in CIDR notation with a prefix of /8 to /30, for example 10.101.0.0/24.",
    };

    public static VmPsException SubnetConflict(string subnet, string otherNetwork, string otherSubnet, Ipv4Subnet? suggestion) => new(
        VmPsErrorIds.SubnetConflict,
        VmPsErrorKind.ResourceExists,
        $"The subnet {subnet} overlaps {otherSubnet} of the VM network '{otherNetwork}'.",
        subnet)
    {
        RecommendedAction = Suggest(suggestion),
    };

    public static VmPsException OverlapsHostRoute(string subnet, string route, string? interfaceName, Ipv4Subnet? suggestion) => new(
        VmPsErrorIds.SubnetOverlapsHostRoute,
        VmPsErrorKind.ResourceExists,
        $"The subnet {subnet} overlaps the host route {route}{(interfaceName is null ? string.Empty : $" on {interfaceName}")}: VMs on it could not reach that network, and the host would route its traffic to the VMs.",
        subnet)
    {
        RecommendedAction = Suggest(suggestion),
    };

    public static VmPsException InvalidAddress(string parameter, string value) => new(
        VmPsErrorIds.InvalidIPAddress,
        VmPsErrorKind.InvalidArgument,
        $"The {parameter} '{value}' is not an IPv4 address.",
        value);

    public static VmPsException AddressOutOfSubnet(string address, string subnet, string role) => new(
        VmPsErrorIds.AddressOutOfSubnet,
        VmPsErrorKind.InvalidArgument,
        $"The {role} {address} is not a host address in {subnet}.",
        address)
    {
        RecommendedAction = $"Choose an address between the subnet's first and last host address.",
    };

    public static VmPsException AddressReserved(string address, string network, string role) => new(
        VmPsErrorIds.AddressReserved,
        VmPsErrorKind.InvalidArgument,
        $"{address} is the {role} of the network '{network}' and cannot be given to a VM.",
        address);

    public static VmPsException AddressInUse(string address, string network, string vmName) => new(
        VmPsErrorIds.AddressInUse,
        VmPsErrorKind.ResourceExists,
        $"{address} on the network '{network}' is already used by the VM '{vmName}'.",
        address)
    {
        RecommendedAction = "Choose another address, or leave -IPAddress out to get the next free one.",
    };

    public static VmPsException PoolExhausted(string network, string subnet) => new(
        VmPsErrorIds.AddressPoolExhausted,
        VmPsErrorKind.ResourceUnavailable,
        $"The network '{network}' ({subnet}) has no free address left.",
        network)
    {
        RecommendedAction = "Remove VMs from it, or create a network with a larger subnet.",
    };

    public static VmPsException InUse(string network, IEnumerable<string> vmNames) => new(
        VmPsErrorIds.NetworkInUse,
        VmPsErrorKind.InvalidOperation,
        $"The network '{network}' is used by the VMs {string.Join(", ", vmNames.Select(n => $"'{n}'"))}.",
        network)
    {
        RecommendedAction = "Remove those VMs first, or use -Force to detach them (they lose their network adapter and published ports).",
    };

    public static VmPsException AdapterNotFound(Guid vmId, string? vmName = null) => new(
        VmPsErrorIds.NetworkAdapterNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"The VM {(vmName is null ? vmId.ToString() : $"'{vmName}'")} has no network adapter.",
        vmName ?? (object)vmId)
    {
        RecommendedAction = "Create the VM with -Network to give it one.",
    };

    public static VmPsException AdapterExists(string vmName, string network) => new(
        VmPsErrorIds.NetworkAdapterExists,
        VmPsErrorKind.ResourceExists,
        $"The VM '{vmName}' already has an adapter on the network '{network}'.",
        vmName);

    public static VmPsException PortInUse(int port, PortProtocol protocol, string holder) => new(
        VmPsErrorIds.PortInUse,
        VmPsErrorKind.ResourceExists,
        $"The host port {port}/{protocol.ToString().ToLowerInvariant()} is already {holder}.",
        port)
    {
        RecommendedAction = "Choose another host port.",
    };

    public static VmPsException InvalidPort(string role, int port) => new(
        VmPsErrorIds.InvalidPort,
        VmPsErrorKind.InvalidArgument,
        $"The {role} {port} is not a port number (1-65535).",
        port);

    public static VmPsException PortMappingNotFound(string vmName, int hostPort, PortProtocol protocol) => new(
        VmPsErrorIds.PortMappingNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"The VM '{vmName}' has no mapping of host port {hostPort}/{protocol.ToString().ToLowerInvariant()}.",
        hostPort);

    public static VmPsException HostNetworkFailed(string operation, Exception inner) => new(
        VmPsErrorIds.HostNetworkFailed,
        inner is Netlink.NetlinkException { Errno: 1 } ? VmPsErrorKind.PermissionDenied : VmPsErrorKind.InvalidOperation,
        $"Cannot {operation}: {inner.Message}",
        operation,
        inner)
    {
        RecommendedAction = "VM networking needs root (CAP_NET_ADMIN).",
    };

    /// <summary>The firewall refused a change or a listing; <paramref name="requirements"/> names what it needs.</summary>
    public static VmPsException FirewallRulesFailed(string message, string firewall, string requirements) => new(
        VmPsErrorIds.FirewallRulesFailed,
        VmPsErrorKind.InvalidOperation,
        message,
        firewall)
    {
        RecommendedAction = $"VM networking needs root and {requirements}.",
    };

    private static string Suggest(Ipv4Subnet? suggestion) => suggestion is { } free
        ? $"Choose a subnet that overlaps no host route and no VM network, for example -Subnet {free}."
        : "Choose a subnet that overlaps no host route and no VM network.";
}
