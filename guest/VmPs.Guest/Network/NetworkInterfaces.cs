using VmPs.Guest.Native;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Network;

/// <summary>The guest's network interfaces, found through /sys/class/net and configured through ioctls (native helper).</summary>
internal static class NetworkInterfaces
{
    private const string ClassDirectory = "/sys/class/net";

    /// <summary>The name of the interface whose hardware address is <paramref name="macAddress"/>, or null.</summary>
    public static string? FindByMac(string macAddress) =>
        All().FirstOrDefault(entry => string.Equals(entry.Mac, macAddress, StringComparison.OrdinalIgnoreCase)).Name;

    /// <summary>"eth0=52:54:...", for error messages.</summary>
    public static string Describe()
    {
        var interfaces = All().Select(entry => $"{entry.Name}={entry.Mac}").ToArray();
        return interfaces.Length == 0 ? "none" : string.Join(", ", interfaces);
    }

    /// <summary>MTU, address and netmask, up, then the default route (replacing any other).</summary>
    public static void Configure(string name, GuestNetworkSetup setup)
    {
        Check(
            NativeMethods.SetIpv4(name, GuestNetworkSetup.ToInAddr(setup.Address), setup.Netmask, setup.Mtu),
            $"setting {setup.Address}/{setup.PrefixLength} (MTU {setup.Mtu}) on {name}");
        Check(
            NativeMethods.SetDefaultRoute(name, GuestNetworkSetup.ToInAddr(setup.Gateway)),
            setup.Gateway is null ? $"removing the default route" : $"adding the default route through {setup.Gateway} on {name}");
    }

    /// <summary>Gives the interface the hardware address "52:54:00:..."; virtio-net changes it while up.</summary>
    public static unsafe void SetMac(string name, string macAddress)
    {
        var hex = macAddress.Replace(":", "", StringComparison.Ordinal);
        if (macAddress.Length != 17 || hex.Length != 12 || !hex.All(char.IsAsciiHexDigit))
        {
            throw new GuestException(Protocol.Messages.ErrorCodes.BadRequest, $"'{macAddress}' is not a MAC address.");
        }

        var bytes = Convert.FromHexString(hex);
        fixed (byte* mac = bytes)
        {
            Check(NativeMethods.SetMac(name, mac), $"setting the MAC address {macAddress} on {name}");
        }
    }

    private static IEnumerable<(string Name, string Mac)> All()
    {
        if (!Directory.Exists(ClassDirectory))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories(ClassDirectory))
        {
            var address = Path.Combine(directory, "address");
            string mac;
            try
            {
                mac = File.ReadAllText(address).Trim();
            }
            catch (IOException)
            {
                // The interface went away while listing.
                continue;
            }

            yield return (Path.GetFileName(directory), mac);
        }
    }

    private static void Check(int result, string operation)
    {
        if (result < 0)
        {
            throw new GuestException(NetworkErrorCodes.ConfigureFailed, $"{operation} failed: {Libc.ErrorText(-result)}");
        }
    }
}
