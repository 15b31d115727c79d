using VmPs.Core.Network;
using VmPs.Core.Network.Netlink;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Network.Netlink;

/// <summary>The rtnetlink client and TAP ioctls against a real kernel, checked with `ip -j link`.</summary>
public sealed class RouteNetlinkTests : IDisposable
{
    private ScratchNamespace? scratch;

    [RequiresNetworkFact]
    public async Task BridgeAndPersistentTapAreCreatedConfiguredAndDeleted()
    {
        scratch = await ScratchNamespace.CreateAsync();
        var before = await scratch.LinkNamesAsync();

        await scratch.Namespace.RunAsync(
            () =>
            {
                using var netlink = new RouteNetlink();
                netlink.CreateBridge("vmpsbr-test", 1400);
                var bridge = netlink.FindLink("vmpsbr-test")!;
                netlink.Configure(bridge, 1400);
                netlink.AddAddress(bridge, Ipv4Subnet.TryParseAddress("10.9.0.1")!.Value, Ipv4Subnet.TryParse("10.9.0.0/24", out _)!.Value);
                TapDevice.CreatePersistent("vmpst-test");
                var tap = netlink.FindLink("vmpst-test")!;
                netlink.Configure(tap, 1400, bridge.Index);
                netlink.SetBridgePortIsolated(netlink.FindLink("vmpst-test")!, true);
                var port = netlink.FindLink("vmpst-test")!;
                Assert.True(netlink.IsolatedBridgePorts()[port.Index]);
                Assert.False(port.HasCarrier);
            },
            CancellationToken.None);

        var bridgeLink = (await scratch.LinkAsync("vmpsbr-test"))!.Value;
        Assert.Equal("bridge", bridgeLink.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal(1400, bridgeLink.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", bridgeLink.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains("10.9.0.1/24", await scratch.IpAsync("-4", "-o", "addr", "show", "dev", "vmpsbr-test"));

        var tapLink = (await scratch.LinkAsync("vmpst-test"))!.Value;
        Assert.Equal("tun", tapLink.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal("tap", tapLink.GetProperty("linkinfo").GetProperty("info_data").GetProperty("type").GetString());
        Assert.True(tapLink.GetProperty("linkinfo").GetProperty("info_data").GetProperty("persist").GetBoolean());
        Assert.Equal("vmpsbr-test", tapLink.GetProperty("master").GetString());
        Assert.True(tapLink.GetProperty("linkinfo").GetProperty("info_slave_data").GetProperty("isolated").GetBoolean());

        var deleted = await scratch.Namespace.RunAsync(
            () =>
            {
                using var netlink = new RouteNetlink();
                return (netlink.DeleteLinkIfExists("vmpst-test"), netlink.DeleteLinkIfExists("vmpsbr-test"), netlink.DeleteLinkIfExists("vmpsbr-test"));
            },
            CancellationToken.None);

        Assert.Equal((true, true, false), deleted);
        Assert.Equal(before, await scratch.LinkNamesAsync());
    }

    [RequiresNetworkFact]
    public async Task RoutesAreListedWithTheirInterface()
    {
        scratch = await ScratchNamespace.CreateAsync();
        await scratch.IpAsync("link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1");
        await scratch.IpAsync("addr", "add", "192.168.77.1/24", "dev", "dummy0");
        await scratch.IpAsync("link", "set", "dummy0", "up");
        await scratch.IpAsync("route", "add", "172.20.0.0/16", "dev", "dummy0");

        var (routes, links) = await scratch.Namespace.RunAsync(
            () =>
            {
                using var netlink = new RouteNetlink();
                return (netlink.GetRoutes(), netlink.GetLinks());
            },
            CancellationToken.None);

        var dummy = links.Single(l => l.Name == "dummy0");
        Assert.Contains(routes, r => r.Destination.ToString() == "192.168.77.0/24" && r.OutputInterfaceIndex == dummy.Index);
        Assert.Contains(routes, r => r.Destination.ToString() == "172.20.0.0/16" && r.OutputInterfaceIndex == dummy.Index);
        Assert.DoesNotContain(routes, r => r.Destination.ToString() == "192.168.77.1/32");
    }

    public void Dispose() => scratch?.Dispose();
}
