using System.Net;
using VmPs.Core.Network;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// Real TCP traffic through the bridges and rules, with stand-in VMs (namespaces on veths plugged
/// under their adapters' TAP names) and an "outside" server namespace routed to the VmPs namespace.
/// </summary>
public sealed class NetworkTrafficTests : IDisposable
{
    private const string OutsideHostAddress = "192.0.2.1";
    private const string OutsideServerAddress = "192.0.2.2";
    private const string OutsideHostAddress6 = "2001:db8:ff::1";
    private const string OutsideServerAddress6 = "2001:db8:ff::2";

    private readonly List<IDisposable> owned = [];
    private NetworkTestHost? host;

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task NatReachesOutsideAndPublishedPortsAnswerFromOutsideLoopbackAndGateway(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var outside = await OutsideAsync();
        await host.CreateNetworkAsync("nat", "10.80.0.0/24");
        var vm = Own(await StandInVm.CreateAsync(host, "web", "nat"));

        await using (var server = await TcpProbe.ListenAsync(outside.Namespace, 7000))
        {
            Assert.Equal(OutsideHostAddress, await TcpProbe.TryConnectAsync(vm.Namespace, OutsideServerAddress, 7000));
        }

        await host.Manager.AddPortMappingAsync(vm.Adapter.VmId, new PortMappingOptions { HostPort = 8080, VmPort = 80 }, CancellationToken.None);
        await using (var web = await TcpProbe.ListenAsync(vm.Namespace, 80))
        {
            Assert.Equal(OutsideServerAddress, await TcpProbe.TryConnectAsync(outside.Namespace, OutsideHostAddress, 8080));
            Assert.Equal(vm.Adapter.Gateway, await TcpProbe.TryConnectAsync(host.Scratch.Namespace, "127.0.0.1", 8080));
            Assert.NotNull(await TcpProbe.TryConnectAsync(host.Scratch.Namespace, vm.Adapter.Gateway, 8080));

            await host.Manager.RemovePortMappingAsync(vm.Adapter.VmId, PortProtocol.Tcp, 8080, CancellationToken.None);
            Assert.Null(await TcpProbe.TryConnectAsync(outside.Namespace, OutsideHostAddress, 8080));
        }
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task VmsReachOnlyTheirGatewayOnTheHostAndNothingOnOtherNetworks(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        await OutsideAsync();
        await host.CreateNetworkAsync("a", "10.81.0.0/24");
        await host.CreateNetworkAsync("b", "10.82.0.0/24");
        var a1 = Own(await StandInVm.CreateAsync(host, "a1", "a"));
        var a2 = Own(await StandInVm.CreateAsync(host, "a2", "a"));
        var b1 = Own(await StandInVm.CreateAsync(host, "b1", "b"));

        await using var onHost = await TcpProbe.ListenAsync(host.Scratch.Namespace, 9000);
        await using var onA2 = await TcpProbe.ListenAsync(a2.Namespace, 9000);
        await using var onB1 = await TcpProbe.ListenAsync(b1.Namespace, 9000);

        Assert.Equal(a1.Address, await TcpProbe.TryConnectAsync(a1.Namespace, a1.Adapter.Gateway, 9000));
        Assert.Equal(a1.Address, await TcpProbe.TryConnectAsync(a1.Namespace, a2.Address, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(a1.Namespace, OutsideHostAddress, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(a1.Namespace, b1.Adapter.Gateway, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(a1.Namespace, b1.Address, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(b1.Namespace, a2.Address, 9000));
        Assert.Equal(b1.Address, await TcpProbe.TryConnectAsync(b1.Namespace, b1.Adapter.Gateway, 9000));
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task AnIsolatedNetworkBlocksVmToVmAndAHostOnlyNetworkBlocksTheOutside(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var outside = await OutsideAsync();
        await host.CreateNetworkAsync("iso", "10.83.0.0/24", isolated: true);
        await host.CreateNetworkAsync("internal", "10.84.0.0/24", nat: false);
        var i1 = Own(await StandInVm.CreateAsync(host, "i1", "iso"));
        var i2 = Own(await StandInVm.CreateAsync(host, "i2", "iso"));
        var h1 = Own(await StandInVm.CreateAsync(host, "h1", "internal"));

        await using var onI2 = await TcpProbe.ListenAsync(i2.Namespace, 9000);
        await using var onHost = await TcpProbe.ListenAsync(host.Scratch.Namespace, 9000);
        await using var onOutside = await TcpProbe.ListenAsync(outside.Namespace, 9000);

        Assert.Null(await TcpProbe.TryConnectAsync(i1.Namespace, i2.Address, 9000));
        Assert.Equal(i1.Address, await TcpProbe.TryConnectAsync(i1.Namespace, i1.Adapter.Gateway, 9000));
        Assert.Equal(OutsideHostAddress, await TcpProbe.TryConnectAsync(i1.Namespace, OutsideServerAddress, 9000));
        Assert.Equal(h1.Address, await TcpProbe.TryConnectAsync(h1.Namespace, h1.Adapter.Gateway, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(h1.Namespace, OutsideServerAddress, 9000));
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task VmsReachNoHostAddressOverIpv6(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        await OutsideAsync();
        var network = await host.CreateNetworkAsync("six", "10.85.0.0/24");
        var vm = Own(await StandInVm.CreateAsync(host, "v6", "six"));
        var vmAddress = await Ipv6Async(vm, network, "2001:db8:85::5");
        var gateway = await host.Scratch.LinkLocalAddressAsync(network.Bridge);
        var vmLinkLocal = await vm.Scratch.LinkLocalAddressAsync("eth0");

        await using var onHost = await TcpProbe.ListenAsync(host.Scratch.Namespace, 9000);
        await using var onVm = await TcpProbe.ListenAsync(vm.Namespace, 9000);

        // What must still work, so that the refusals below are the rules' doing: IPv4 to the gateway,
        // and the host's own IPv6 connection to the VM (the VM's replies are part of it).
        Assert.Equal(vm.Address, await TcpProbe.TryConnectAsync(vm.Namespace, vm.Adapter.Gateway, 9000));
        Assert.Equal(OutsideHostAddress6, await TcpProbe.TryConnectAsync(host.Scratch.Namespace, vmAddress, 9000));

        Assert.Null(await TcpProbe.TryConnectAsync(vm.Namespace, OnLink(gateway, vmLinkLocal), 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(vm.Namespace, IPAddress.Parse(OutsideHostAddress6), 9000));
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task Ipv6IsNotRoutedBetweenNetworksNorInOrOutOfThemWhenTheHostForwardsIpv6(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var outside = await OutsideAsync();
        await host.Scratch.SysctlAsync("net.ipv6.conf.all.forwarding", "1");
        var a = await host.CreateNetworkAsync("a", "10.86.0.0/24");
        var b = await host.CreateNetworkAsync("b", "10.87.0.0/24");
        var iso = await host.CreateNetworkAsync("iso", "10.88.0.0/24", isolated: true);
        var a1 = Own(await StandInVm.CreateAsync(host, "a1", "a"));
        var a1Address = await Ipv6Async(a1, a, "2001:db8:86::1");
        var a2 = Own(await StandInVm.CreateAsync(host, "a2", "a"));
        var a2Address = await Ipv6Async(a2, a, "2001:db8:86::2");
        var b1 = Own(await StandInVm.CreateAsync(host, "b1", "b"));
        var b1Address = await Ipv6Async(b1, b, "2001:db8:87::1");
        var i1 = Own(await StandInVm.CreateAsync(host, "i1", "iso"));
        await Ipv6Async(i1, iso, "2001:db8:88::1");
        var i2 = Own(await StandInVm.CreateAsync(host, "i2", "iso"));
        var i2Address = await Ipv6Async(i2, iso, "2001:db8:88::2");

        await using var onA1 = await TcpProbe.ListenAsync(a1.Namespace, 9000);
        await using var onA2 = await TcpProbe.ListenAsync(a2.Namespace, 9000);
        await using var onB1 = await TcpProbe.ListenAsync(b1.Namespace, 9000);
        await using var onI2 = await TcpProbe.ListenAsync(i2.Namespace, 9000);
        await using var onOutside = await TcpProbe.ListenAsync(outside.Namespace, 9000);
        await using var onHost = await TcpProbe.ListenAsync(host.Scratch.Namespace, 9000);

        // The paths exist: VMs on one network talk IPv6 over the bridge as they talk IPv4, the host
        // reaches the VMs, and the outside reaches the host.
        Assert.Equal(a1Address.ToString(), await TcpProbe.TryConnectAsync(a1.Namespace, a2Address, 9000));
        Assert.Equal(OutsideHostAddress6, await TcpProbe.TryConnectAsync(host.Scratch.Namespace, b1Address, 9000));
        Assert.Equal(OutsideServerAddress6, await TcpProbe.TryConnectAsync(outside.Namespace, IPAddress.Parse(OutsideHostAddress6), 9000));

        Assert.Null(await TcpProbe.TryConnectAsync(i1.Namespace, i2Address, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(a1.Namespace, b1Address, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(b1.Namespace, a1Address, 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(a1.Namespace, IPAddress.Parse(OutsideServerAddress6), 9000));
        Assert.Null(await TcpProbe.TryConnectAsync(outside.Namespace, a1Address, 9000));
    }

    public void Dispose()
    {
        foreach (var item in owned)
        {
            item.Dispose();
        }

        host?.Dispose();
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        owned.Add(item);
        return item;
    }

    /// <summary>The address as the kernel reports it, without a scope id.</summary>
    private static string Unscoped(IPAddress address) => new IPAddress(address.GetAddressBytes()).ToString();

    /// <summary>A link-local <paramref name="address"/> reached through the interface of <paramref name="local"/> (its scope id).</summary>
    private static IPAddress OnLink(IPAddress address, IPAddress local) => new(address.GetAddressBytes(), local.ScopeId);

    /// <summary>
    /// IPv6 as a dual-stack host and a hostile guest would set it up by hand (VmPs configures none): the
    /// guest takes <paramref name="address"/>/64 with the bridge's link-local address as its default
    /// route, and the host routes that /64 to the bridge. Neighbour discovery between them is IPv6 from
    /// the VM too, which the host drops: static neighbour entries on both sides (the guest learns the
    /// bridge's MAC from ARP) make sure the rule under test alone decides what passes.
    /// </summary>
    private async Task<IPAddress> Ipv6Async(StandInVm vm, NetworkInfo network, string address)
    {
        var gateway = Unscoped(await host!.Scratch.LinkLocalAddressAsync(network.Bridge));
        await vm.Scratch.IpAsync("-6", "addr", "add", $"{address}/64", "dev", "eth0", "nodad");
        await vm.Scratch.IpAsync("-6", "neigh", "replace", gateway, "lladdr", await MacAddressAsync(host.Scratch, network.Bridge), "dev", "eth0", "nud", "permanent");
        await vm.Scratch.IpAsync("-6", "route", "add", "default", "via", gateway, "dev", "eth0");
        var parsed = IPAddress.Parse(address);
        var prefix = parsed.GetAddressBytes()[..8].Concat(new byte[8]).ToArray();
        await host.Scratch.IpAsync("-6", "route", "replace", $"{new IPAddress(prefix)}/64", "dev", network.Bridge);
        await host.Scratch.IpAsync("-6", "neigh", "replace", address, "lladdr", await MacAddressAsync(vm.Scratch, "eth0"), "dev", network.Bridge, "nud", "permanent");
        return parsed;
    }

    private static async Task<string> MacAddressAsync(ScratchNamespace scratch, string device) =>
        (await scratch.LinkAsync(device))!.Value.GetProperty("address").GetString()!;

    /// <summary>
    /// A server namespace on a veth from the VmPs namespace: 192.0.2.1 and 2001:db8:ff::1 there,
    /// 192.0.2.2 and 2001:db8:ff::2 here; no IPv4 route back to VM subnets, an IPv6 route to 2001:db8::/32
    /// through the host (an upstream router that knows the host's IPv6 prefixes).
    /// </summary>
    private async Task<ScratchNamespace> OutsideAsync()
    {
        var outside = Own(await ScratchNamespace.CreateAsync());
        await host!.Scratch.IpAsync("link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", outside.Name);
        await host.Scratch.IpAsync("addr", "add", $"{OutsideHostAddress}/24", "dev", "uplink0");
        await host.Scratch.IpAsync("link", "set", "uplink0", "up");
        await outside.IpAsync("addr", "add", $"{OutsideServerAddress}/24", "dev", "eth0");
        await outside.IpAsync("link", "set", "eth0", "up");
        await host.Scratch.IpAsync("-6", "addr", "add", $"{OutsideHostAddress6}/64", "dev", "uplink0", "nodad");
        await outside.IpAsync("-6", "addr", "add", $"{OutsideServerAddress6}/64", "dev", "eth0", "nodad");
        await outside.IpAsync("-6", "route", "add", "2001:db8::/32", "via", OutsideHostAddress6);
        return outside;
    }
}
