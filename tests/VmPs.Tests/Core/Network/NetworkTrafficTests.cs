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

    /// <summary>A server namespace on a veth from the VmPs namespace: 192.0.2.1 there, 192.0.2.2 here, no route back to VM subnets.</summary>
    private async Task<ScratchNamespace> OutsideAsync()
    {
        var outside = Own(await ScratchNamespace.CreateAsync());
        await host!.Scratch.IpAsync("link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", outside.Name);
        await host.Scratch.IpAsync("addr", "add", $"{OutsideHostAddress}/24", "dev", "uplink0");
        await host.Scratch.IpAsync("link", "set", "uplink0", "up");
        await outside.IpAsync("addr", "add", $"{OutsideServerAddress}/24", "dev", "eth0");
        await outside.IpAsync("link", "set", "eth0", "up");
        return outside;
    }
}
