using VmPs.Protocol.Config;

namespace VmPs.Protocol.Messages;

/// <summary>Host to guest: replace the interface's address, default route, DNS servers and MTU with <see cref="Network"/>.</summary>
public sealed record NetworkConfigureMessage(GuestNetworkConfig Network);

/// <summary>The guest's answer: the interface (found by MAC) that now has the new setup.</summary>
public sealed record NetworkConfiguredMessage(string Interface);

/// <summary>Error codes of NetworkConfigure, beside the general <see cref="ErrorCodes"/>.</summary>
public static class NetworkErrorCodes
{
    /// <summary>No interface in the guest has the requested MAC address.</summary>
    public const string InterfaceNotFound = "NetworkInterfaceNotFound";

    /// <summary>The kernel refused the address, MTU or route.</summary>
    public const string ConfigureFailed = "NetworkConfigureFailed";
}
