using System.Text.RegularExpressions;

namespace VmPs.Core.Hypervisors;

/// <summary>Checks a <see cref="NetworkInterfaceSpec"/> before a driver puts it on a command line or into an API body.</summary>
internal static partial class NetworkInterfaceValidation
{
    // IFNAMSIZ is 16 bytes with the terminating NUL.
    private const int MaxInterfaceNameLength = 15;
    private const int MinimumMtu = 68;
    private const int MaximumMtu = 65535;

    public static NetworkInterfaceSpec Validate(NetworkInterfaceSpec adapter)
    {
        if (!InterfaceName().IsMatch(adapter.Tap))
        {
            throw Invalid(VmPsErrorIds.InvalidTapName, $"TAP name '{adapter.Tap}' must be 1 to {MaxInterfaceNameLength} letters, digits, '-', '_' or '.'.", adapter.Tap);
        }

        if (!MacAddress().IsMatch(adapter.MacAddress))
        {
            throw Invalid(VmPsErrorIds.InvalidMacAddress, $"MAC address '{adapter.MacAddress}' of TAP '{adapter.Tap}' must be six hex pairs separated by ':'.", adapter.MacAddress);
        }

        if (adapter.Mtu is < MinimumMtu or > MaximumMtu)
        {
            throw Invalid(VmPsErrorIds.InvalidMtu, $"MTU {adapter.Mtu} of TAP '{adapter.Tap}' is not between {MinimumMtu} and {MaximumMtu}.", adapter.Mtu);
        }

        return adapter;
    }

    private static VmPsException Invalid(string errorId, string message, object target) =>
        new(errorId, VmPsErrorKind.InvalidArgument, message, target);

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}\\z")]
    private static partial Regex InterfaceName();

    [GeneratedRegex("^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\\z")]
    private static partial Regex MacAddress();
}
