using System.Diagnostics;
using VmPs.Guest.Init;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Network;

/// <summary>
/// The guest side of a VmPs network: a static IPv4 setup on the interface with the adapter's MAC, set at
/// boot from the config disk and again whenever the host sends NetworkConfigure. No DHCP, no tools.
/// </summary>
internal static class GuestNetwork
{
    private static readonly TimeSpan InterfaceTimeout = TimeSpan.FromSeconds(10);

    // What /etc/hosts maps the guest's address to; the boot config knows it, a later reconfigure reuses it.
    private static IReadOnlyList<string> hostNames = [];

    /// <summary>
    /// Boot step, once the network driver is loaded and before the image's command (or systemd) starts:
    /// waits for the adapter's interface and configures it. Nothing to do without a network in the config.
    /// </summary>
    public static void ConfigureAtBoot(GuestConfig config)
    {
        if (config.Network is not { } network)
        {
            return;
        }

        hostNames = new[] { config.Hostname, config.VmName }
            .Where(name => name.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        try
        {
            var setup = GuestNetworkSetup.Parse(network);
            Apply(setup, WaitForInterface(setup.MacAddress));
        }
        catch (GuestException error)
        {
            throw new InitException($"Network setup failed: {error.Message}");
        }
    }

    /// <summary>The agent's NetworkConfigure: applies <paramref name="network"/> and returns the interface it configured.</summary>
    public static string Reconfigure(GuestNetworkConfig network)
    {
        var setup = GuestNetworkSetup.Parse(network);
        var name = NetworkInterfaces.FindByMac(setup.MacAddress)
            ?? throw new GuestException(NetworkErrorCodes.InterfaceNotFound, $"No network interface has the MAC address {setup.MacAddress} (seen: {NetworkInterfaces.Describe()}).");
        Apply(setup, name);
        return name;
    }

    private static void Apply(GuestNetworkSetup setup, string interfaceName)
    {
        NetworkInterfaces.Configure(interfaceName, setup);
        if (setup.Dns.Count > 0)
        {
            NameResolution.WriteResolvConf(setup.Dns);
        }

        NameResolution.WriteHosts(setup.Address.ToString(), hostNames.Count > 0 ? hostNames : [Environment.MachineName]);
    }

    private static string WaitForInterface(string macAddress)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (NetworkInterfaces.FindByMac(macAddress) is { } name)
            {
                return name;
            }

            if (clock.Elapsed > InterfaceTimeout)
            {
                throw new GuestException(
                    NetworkErrorCodes.InterfaceNotFound,
                    $"No network interface with the MAC address {macAddress} appeared within {InterfaceTimeout.TotalSeconds:0} s (seen: {NetworkInterfaces.Describe()}).");
            }

            Thread.Sleep(5);
        }
    }
}
