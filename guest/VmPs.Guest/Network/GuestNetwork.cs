using System.Diagnostics;
using VmPs.Guest.Init;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Network;

/// <summary>
/// The guest side of a VmPs network: a static IPv4 setup on the interface with the adapter's MAC, set at
/// boot from the config disk and again whenever the host sends NetworkConfigure or, after a restore or fork,
/// IdentityApply. No DHCP, no tools.
/// </summary>
internal static class GuestNetwork
{
    private static readonly TimeSpan InterfaceTimeout = TimeSpan.FromSeconds(10);

    // The agent's requests may come on several connections at once; one at a time.
    private static readonly object Gate = new();

    // What /etc/hosts maps the guest's address to; the boot config knows it, a later reconfigure reuses it.
    private static IReadOnlyList<string> hostNames = [];

    /// <summary>
    /// Boot step, once the network driver is loaded and before system-ready (exec mode: the agent's requests wait for
    /// it, so none runs alongside) or systemd: waits for the adapter's interface and configures it. Nothing to do
    /// without a network in the config.
    /// </summary>
    public static void ConfigureAtBoot(GuestConfig config)
    {
        if (config.Network is not { } network)
        {
            return;
        }

        var names = new[] { config.Hostname, config.VmName }.Where(name => name.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        try
        {
            Assign(new Assignment(network, null, names));
        }
        catch (GuestException error)
        {
            throw new InitException($"Network setup failed: {error.Message}");
        }
    }

    /// <summary>The agent's NetworkConfigure: applies <paramref name="network"/> and returns the interface it configured.</summary>
    public static string Reconfigure(GuestNetworkConfig network)
    {
        lock (Gate)
        {
            var setup = GuestNetworkSetup.Parse(network);
            var name = NetworkInterfaces.FindByMac(setup.MacAddress)
                ?? throw new GuestException(NetworkErrorCodes.InterfaceNotFound, $"No network interface has the MAC address {setup.MacAddress} (seen: {NetworkInterfaces.Describe()}).");
            Apply(setup, name);
            return name;
        }
    }

    /// <summary>
    /// After a restore or fork: the interface that has <paramref name="previousMacAddress"/> (the restored VM's) takes
    /// the new MAC, then the new setup; <paramref name="hostname"/> is what /etc/hosts names the address now. Returns
    /// the interface.
    /// </summary>
    public static string Reassign(GuestNetworkConfig network, string? previousMacAddress, string hostname)
    {
        lock (Gate)
        {
            return Assign(new Assignment(network, previousMacAddress, [hostname]));
        }
    }

    /// <summary>Waits for the interface with the new or the previous MAC (the driver may still be loading), gives it the new MAC and setup.</summary>
    private static string Assign(Assignment assignment)
    {
        var setup = GuestNetworkSetup.Parse(assignment.Network);
        hostNames = assignment.HostNames;
        var name = WaitForInterface(setup.MacAddress, assignment.PreviousMacAddress);
        if (NetworkInterfaces.FindByMac(setup.MacAddress) != name)
        {
            NetworkInterfaces.SetMac(name, setup.MacAddress);
        }

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

    private static string WaitForInterface(string macAddress, string? previousMacAddress)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if ((NetworkInterfaces.FindByMac(macAddress) ?? (previousMacAddress is null ? null : NetworkInterfaces.FindByMac(previousMacAddress))) is { } name)
            {
                return name;
            }

            if (clock.Elapsed > InterfaceTimeout)
            {
                throw new GuestException(
                    NetworkErrorCodes.InterfaceNotFound,
                    $"No network interface with the MAC address {macAddress}{(previousMacAddress is null ? "" : $" or {previousMacAddress}")} appeared within {InterfaceTimeout.TotalSeconds:0} s (seen: {NetworkInterfaces.Describe()}).");
            }

            Thread.Sleep(5);
        }
    }

    private sealed record Assignment(GuestNetworkConfig Network, string? PreviousMacAddress, IReadOnlyList<string> HostNames);
}
