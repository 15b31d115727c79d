using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Network;

/// <summary>Networks, adapters and port mappings on a real kernel, inside a namespace of the test's own.</summary>
public sealed class NetworkManagerTests : IDisposable
{
    private NetworkTestHost? host;

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task CreateBuildsBridgeAndRulesAndRemoveLeavesLinksRulesAndRowsAsBefore(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        Assert.Empty(await host.Manager.GetAllAsync(CancellationToken.None));
        var linksBefore = await host.Scratch.LinkNamesAsync();
        var rulesBefore = await host.FirewallStateAsync();
        var rowsBefore = await host.NetworkRowsAsync();

        var network = await host.CreateNetworkAsync("lab", "10.50.0.0/24");
        var vmId = Guid.NewGuid();
        var adapter = await host.Manager.AllocateAdapterAsync(vmId, "web", "lab", null, 50, CancellationToken.None);
        await host.Manager.PlugAsync(vmId, CancellationToken.None);
        await host.Manager.AddPortMappingAsync(vmId, new PortMappingOptions { HostPort = 8080, VmPort = 80 }, CancellationToken.None);

        Assert.Equal("10.50.0.1", network.Gateway);
        Assert.Equal(253, network.FreeAddresses);
        var bridge = (await host.Scratch.LinkAsync(network.Bridge))!.Value;
        Assert.Equal("bridge", bridge.GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Contains("10.50.0.1/24", await host.Scratch.IpAsync("-4", "-o", "addr", "show", "dev", network.Bridge));
        var tap = (await host.Scratch.LinkAsync(adapter.Tap))!.Value;
        Assert.Equal(network.Bridge, tap.GetProperty("master").GetString());
        Assert.Equal("1", (await host.Scratch.ExecCheckedAsync("cat", "/proc/sys/net/ipv4/ip_forward")).Trim());
        Assert.Contains("\"tbf\"", await host.Scratch.ExecCheckedAsync("tc", "-j", "qdisc", "show", "dev", adapter.Tap));
        var comments = await host.FirewallTagsAsync();
        Assert.Contains("vmps:lab:masquerade", comments);
        Assert.Equal(2, comments.Count(c => c == $"vmps:lab:vm={vmId:N}:tcp/8080"));
        Assert.Equal(2, comments.Count(c => c == $"vmps:lab:vm={vmId:N}:limit"));
        Assert.All(comments, c => Assert.StartsWith("vmps:lab:", c));

        var listed = Assert.Single(await host.Manager.GetAllAsync(CancellationToken.None));
        Assert.Equal((1, 252L), (listed.VmCount, listed.FreeAddresses));

        await host.Manager.ReleaseAdapterAsync(vmId, CancellationToken.None);
        Assert.DoesNotContain(await host.FirewallTagsAsync(), c => c.Contains("vm=", StringComparison.Ordinal));
        await host.Manager.RemoveAsync("lab", force: false, CancellationToken.None);

        Assert.Equal(linksBefore, await host.Scratch.LinkNamesAsync());
        Assert.Equal(rulesBefore, await host.FirewallStateAsync());
        Assert.Equal(rowsBefore, await host.NetworkRowsAsync());
    }

    [RequiresNetworkFact]
    public async Task PlugIsIdempotentAndUnplugDeletesOnlyTheTap()
    {
        host = await NetworkTestHost.CreateAsync();
        var network = await host.CreateNetworkAsync("iso", "10.51.0.0/24", isolated: true);
        var vmId = Guid.NewGuid();
        var allocated = await host.Manager.AllocateAdapterAsync(vmId, "a", "iso", "10.51.0.9", null, CancellationToken.None);
        Assert.False(allocated.Plugged);
        Assert.Null(await host.Scratch.LinkAsync(allocated.Tap));

        var first = await host.Manager.PlugAsync(vmId, CancellationToken.None);
        var second = await host.Manager.PlugAsync(vmId, CancellationToken.None);

        Assert.Equivalent(first, second, strict: true);
        Assert.True(first.Plugged);
        Assert.Equal(("10.51.0.9", 24, "10.51.0.1", 1500), (first.IPAddress, first.PrefixLength, first.Gateway, first.Mtu));
        var tap = (await host.Scratch.LinkAsync(first.Tap))!.Value;
        Assert.Equal(network.Bridge, tap.GetProperty("master").GetString());
        Assert.True(tap.GetProperty("linkinfo").GetProperty("info_slave_data").GetProperty("isolated").GetBoolean());

        await host.Manager.UnplugAsync(vmId, CancellationToken.None);

        Assert.Null(await host.Scratch.LinkAsync(first.Tap));
        Assert.NotNull(await host.Scratch.LinkAsync(network.Bridge));
        var adapter = Assert.Single(await host.Manager.GetAdaptersAsync(vmId, CancellationToken.None));
        Assert.Equivalent(first with { Plugged = false, Status = NetworkAdapterStatus.Unplugged }, adapter, strict: true);
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task ReadsReportADeletedBridgeAndWipedRulesWithoutTouchingTheHostAndRepairRestoresThem(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var network = await host.CreateNetworkAsync("fix", "10.52.0.0/24");
        using var vm = await StandInVm.CreateAsync(host, "web", "fix");
        await host.Manager.AddPortMappingAsync(vm.Adapter.VmId, new PortMappingOptions { HostPort = 2222, VmPort = 22 }, CancellationToken.None);
        await using var onHost = await TcpProbe.ListenAsync(host.Scratch.Namespace, 9000);
        var rulesIntact = await host.FirewallTagsAsync();
        var healthy = await host.Manager.GetAsync("fix", CancellationToken.None);
        Assert.Equal((NetworkStatus.Healthy, 0), (healthy.Status, healthy.Problems.Count));
        Assert.Equal(NetworkAdapterStatus.Connected, Assert.Single(await host.Manager.GetAdaptersAsync(null, CancellationToken.None)).Status);
        Assert.Equal(vm.Address, await TcpProbe.TryConnectAsync(vm.Namespace, vm.Adapter.Gateway, 9000));

        await host.Scratch.IpAsync("link", "del", network.Bridge);
        await WipeFirewallAsync(firewall);
        var broken = await HostStateAsync();

        var read = await host.Manager.GetAsync("fix", CancellationToken.None);
        await host.Manager.GetAllAsync(CancellationToken.None);
        await host.Manager.FindAsync("fix", CancellationToken.None);
        var adapter = Assert.Single(await host.Manager.GetAdaptersAsync(vm.Adapter.VmId, CancellationToken.None));
        var planned = await host.Manager.RepairAsync("fix", new HashSet<Guid> { vm.Adapter.VmId }, dryRun: true, CancellationToken.None);

        Assert.Equal(broken, await HostStateAsync());
        Assert.Null(await TcpProbe.TryConnectAsync(vm.Namespace, vm.Adapter.Gateway, 9000));
        Assert.Equal(NetworkStatus.Degraded, read.Status);
        Assert.Contains($"bridge {network.Bridge} is missing", read.Problems);
        Assert.Contains(read.Problems, problem => problem.Contains("rules differ", StringComparison.Ordinal));
        Assert.Contains(read.Problems, problem => problem.Contains($"TAP {vm.Adapter.Tap} of VM 'web' is not on bridge", StringComparison.Ordinal));
        Assert.Equal(NetworkAdapterStatus.Degraded, adapter.Status);
        Assert.Equal(read.Problems.Count, planned.Repairs.Count);
        Assert.Contains($"create bridge {network.Bridge} with 10.52.0.1/24", planned.Repairs);
        Assert.Empty(planned.Unrepairable);

        var repaired = await host.Manager.RepairAsync("fix", new HashSet<Guid> { vm.Adapter.VmId }, dryRun: false, CancellationToken.None);

        Assert.Equal(planned.Repairs, repaired.Repairs);
        Assert.Equal((NetworkStatus.Healthy, 0), (repaired.Network.Status, repaired.Network.Problems.Count));
        Assert.Contains("10.52.0.1/24", await host.Scratch.IpAsync("-4", "-o", "addr", "show", "dev", network.Bridge));
        Assert.Equal(rulesIntact, await host.FirewallTagsAsync());
        Assert.Equal(NetworkAdapterStatus.Connected, Assert.Single(await host.Manager.GetAdaptersAsync(null, CancellationToken.None)).Status);
        Assert.Equal(vm.Address, await TcpProbe.TryConnectAsync(vm.Namespace, vm.Adapter.Gateway, 9000));

        // One rule gone from a chain (a half-applied change), or a jump into the chains, is noticed too.
        var id = network.Bridge["vmpsbr-".Length..];
        if (firewall == FirewallBackend.Nftables)
        {
            await host.Scratch.ExecCheckedAsync("nft", "flush", "chain", "inet", "vmps", "pre_" + id);
        }
        else
        {
            await host.Scratch.ExecCheckedAsync("iptables", "-t", "nat", "-F", "VMPS-PRE-" + id.ToUpperInvariant());
            await host.Scratch.ExecCheckedAsync("ip6tables", "-F", "INPUT");
        }

        Assert.Equal(NetworkStatus.Degraded, Assert.Single(await host.Manager.GetAllAsync(CancellationToken.None)).Status);
        Assert.Single((await host.Manager.RepairAsync("fix", new HashSet<Guid> { vm.Adapter.VmId }, dryRun: false, CancellationToken.None)).Repairs);
        Assert.Equal(rulesIntact, await host.FirewallTagsAsync());
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task ATapDeletedUnderARunningVmIsReportedDetachedAndNeverReplacedByAnotherTap(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        await host.CreateNetworkAsync("lab", "10.57.0.0/24");
        using var web = await StandInVm.CreateAsync(host, "web", "lab");
        using var peer = await StandInVm.CreateAsync(host, "peer", "lab");
        var running = new HashSet<Guid> { web.Adapter.VmId, peer.Adapter.VmId };

        await host.Scratch.IpAsync("link", "del", web.Adapter.Tap);
        var deleted = await HostStateAsync();

        var adapter = Assert.Single(await host.Manager.GetAdaptersAsync(web.Adapter.VmId, CancellationToken.None));
        var network = await host.Manager.GetAsync("lab", CancellationToken.None);
        Assert.Equal(deleted, await HostStateAsync());
        Assert.Equal((true, NetworkAdapterStatus.Detached), (adapter.Plugged, adapter.Status));
        Assert.Equal(NetworkStatus.Degraded, network.Status);
        Assert.Contains($"TAP {web.Adapter.Tap} of VM 'web' is missing, so the VM has no network", network.Problems);

        // Neither a repair nor another VM's start on the network makes a TAP no hypervisor would open.
        var repair = await host.Manager.RepairAsync("lab", running, dryRun: false, CancellationToken.None);
        await host.Manager.PlugAsync(peer.Adapter.VmId, CancellationToken.None);

        Assert.Null(await host.Scratch.LinkAsync(web.Adapter.Tap));
        Assert.Empty(repair.Repairs);
        Assert.Contains("VM 'web' is active", Assert.Single(repair.Unrepairable));
        Assert.Contains("restart it (Stop-Vm, then Start-Vm)", repair.Unrepairable[0]);
        Assert.Equal(NetworkAdapterStatus.Detached, (await host.Manager.GetAdaptersAsync(web.Adapter.VmId, CancellationToken.None))[0].Status);
        Assert.Equal(NetworkAdapterStatus.Connected, (await host.Manager.GetAdaptersAsync(peer.Adapter.VmId, CancellationToken.None))[0].Status);
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task WhenAHypervisorDiesItsTapIsReportedDetachedAndRepairRemovesItWithNothingLeft(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var linksBefore = await host.Scratch.LinkNamesAsync();
        var rulesBefore = await host.FirewallStateAsync();
        await host.CreateNetworkAsync("lab", "10.58.0.0/24");
        using var vm = await StandInVm.CreateAsync(host, "web", "lab");
        await host.Manager.AddPortMappingAsync(vm.Adapter.VmId, new PortMappingOptions { HostPort = 8080, VmPort = 80 }, CancellationToken.None);
        var rulesRunning = await host.FirewallStateAsync();

        // The hypervisor's end of the TAP closes with it: the TAP stays, with no carrier.
        await vm.Scratch.IpAsync("link", "set", "eth0", "down");
        var died = await HostStateAsync();

        Assert.Equal(NetworkAdapterStatus.Detached, (await host.Manager.GetAdaptersAsync(vm.Adapter.VmId, CancellationToken.None))[0].Status);
        Assert.Contains($"no hypervisor is attached to TAP {vm.Adapter.Tap} of VM 'web', so the VM has no network", (await host.Manager.GetAsync("lab", CancellationToken.None)).Problems);
        Assert.Equal(died, await HostStateAsync());

        var repair = await host.Manager.RepairAsync("lab", new HashSet<Guid>(), dryRun: false, CancellationToken.None);

        Assert.Equal([$"delete TAP {vm.Adapter.Tap} of VM 'web', which is not running"], repair.Repairs);
        Assert.Equal(NetworkStatus.Healthy, repair.Network.Status);
        Assert.Null(await host.Scratch.LinkAsync(vm.Adapter.Tap));
        var adapter = (await host.Manager.GetAdaptersAsync(vm.Adapter.VmId, CancellationToken.None))[0];
        Assert.Equal((false, NetworkAdapterStatus.Unplugged), (adapter.Plugged, adapter.Status));
        Assert.Equal(rulesRunning, await host.FirewallStateAsync());

        await host.Manager.ReleaseAdapterAsync(vm.Adapter.VmId, CancellationToken.None);
        await host.Manager.RemoveAsync("lab", force: false, CancellationToken.None);
        Assert.Equal(linksBefore, await host.Scratch.LinkNamesAsync());
        Assert.Equal(rulesBefore, await host.FirewallStateAsync());
        Assert.Empty(await host.NetworkRowsAsync());
    }

    [RequiresNetworkFact]
    public async Task SubnetOverlappingAHostRouteIsRefusedWithAFreeSubnetSuggestedAndNothingLeftBehind()
    {
        host = await NetworkTestHost.CreateAsync();
        await host.Scratch.IpAsync("link", "add", "eth9", "type", "veth", "peer", "name", "eth10");
        await host.Scratch.IpAsync("addr", "add", "10.100.7.1/24", "dev", "eth9");
        await host.Scratch.IpAsync("link", "set", "eth9", "up");
        await host.Scratch.IpAsync("link", "set", "eth10", "up");
        var links = await host.Scratch.LinkNamesAsync();

        var error = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.EnsureDefaultAsync(CancellationToken.None));

        Assert.Equal("SubnetOverlapsHostRoute", error.ErrorId);
        Assert.Contains("10.100.7.0/24", error.Message);
        Assert.Contains("eth9", error.Message);
        Assert.Contains("-Subnet 10.101.0.0/16", error.RecommendedAction);
        Assert.Equal(links, await host.Scratch.LinkNamesAsync());
        Assert.Empty(await host.NetworkRowsAsync());
        var created = await host.CreateNetworkAsync("default", "10.101.0.0/16");
        Assert.Equal("10.101.0.1", (await host.Manager.EnsureDefaultAsync(CancellationToken.None)).Gateway);
        Assert.Equal(created.Id, (await host.Manager.GetAsync("DEFAULT", CancellationToken.None)).Id);
    }

    [RequiresNetworkFact]
    public async Task BadRequestsFailWithSpecificErrors()
    {
        host = await NetworkTestHost.CreateAsync();
        await host.CreateNetworkAsync("one", "10.60.0.0/16");

        async Task<string> ErrorOf(Func<Task> action) => (await Assert.ThrowsAsync<VmPsException>(action)).ErrorId;
        Task Create(string name, string subnet, string? gateway = null, int? mtu = null) =>
            host.Manager.CreateAsync(new NetworkCreateOptions { Name = name, Subnet = subnet, Gateway = gateway, Mtu = mtu }, CancellationToken.None);

        Assert.Equal("SubnetConflict", await ErrorOf(() => Create("two", "10.60.5.0/24")));
        Assert.Equal("NetworkNameInUse", await ErrorOf(() => Create("ONE", "10.61.0.0/24")));
        Assert.Equal("InvalidSubnet", await ErrorOf(() => Create("two", "10.61.0.1/24")));
        Assert.Equal("InvalidSubnet", await ErrorOf(() => Create("two", "10.61.0.0/31")));
        Assert.Equal("InvalidSubnet", await ErrorOf(() => Create("two", "fd00::/64")));
        Assert.Equal("InvalidNetworkName", await ErrorOf(() => Create("bad name", "10.61.0.0/24")));
        Assert.Equal("AddressOutOfSubnet", await ErrorOf(() => Create("two", "10.61.0.0/24", gateway: "10.62.0.1")));
        Assert.Equal("AddressOutOfSubnet", await ErrorOf(() => Create("two", "10.61.0.0/24", gateway: "10.61.0.255")));
        Assert.Equal("InvalidMtu", await ErrorOf(() => Create("two", "10.61.0.0/24", mtu: 100)));
        Assert.Equal("UplinkNotFound", await ErrorOf(() => host.Manager.CreateAsync(
            new NetworkCreateOptions { Name = "two", Subnet = "10.61.0.0/24", UplinkInterface = "nosuch0" }, CancellationToken.None)));
        Assert.Equal("NetworkNotFound", await ErrorOf(() => host.Manager.GetAsync("nope", CancellationToken.None)));
        Assert.Equal("NetworkNotFound", await ErrorOf(() => host.Manager.AllocateAdapterAsync(Guid.NewGuid(), "x", "nope", null, null, CancellationToken.None)));
        Assert.Equal("NetworkAdapterNotFound", await ErrorOf(() => host.Manager.PlugAsync(Guid.NewGuid(), CancellationToken.None)));
        Assert.Equal("InvalidBandwidth", await ErrorOf(() => host.Manager.AllocateAdapterAsync(Guid.NewGuid(), "x", "one", null, 0, CancellationToken.None)));

        var vmId = Guid.NewGuid();
        await host.Manager.AllocateAdapterAsync(vmId, "web", "one", null, null, CancellationToken.None);
        Assert.Equal("NetworkAdapterExists", await ErrorOf(() => host.Manager.AllocateAdapterAsync(vmId, "web", "one", null, null, CancellationToken.None)));
        var inUse = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.RemoveAsync("one", force: false, CancellationToken.None));
        Assert.Equal(("NetworkInUse", VmPsErrorKind.InvalidOperation), (inUse.ErrorId, inUse.Kind));
        Assert.Contains("'web'", inUse.Message);
        Assert.Single(await host.Manager.GetAllAsync(CancellationToken.None));
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task ForcedRemovalReleasesTheAdaptersOfAttachedVms(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        var linksBefore = await host.Scratch.LinkNamesAsync();
        await host.CreateNetworkAsync("gone", "10.53.0.0/24");
        var vmId = Guid.NewGuid();
        var adapter = await host.Manager.AllocateAdapterAsync(vmId, "a", "gone", null, null, CancellationToken.None);
        await host.Manager.PlugAsync(vmId, CancellationToken.None);
        await host.Manager.AddPortMappingAsync(vmId, new PortMappingOptions { HostPort = 8443, VmPort = 443 }, CancellationToken.None);

        await host.Manager.RemoveAsync("gone", force: true, CancellationToken.None);

        Assert.Null(await host.Scratch.LinkAsync(adapter.Tap));
        Assert.Equal(linksBefore, await host.Scratch.LinkNamesAsync());
        Assert.Empty(await host.Manager.GetAdaptersAsync(null, CancellationToken.None));
        Assert.Empty(await host.Manager.GetPortMappingsAsync(null, CancellationToken.None));
        Assert.Empty(await host.NetworkRowsAsync());
        Assert.DoesNotContain("vmps", await host.FirewallStateAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [RequiresNetworkTheory]
    [InlineData(FirewallBackend.Nftables)]
    [InlineData(FirewallBackend.Iptables)]
    public async Task PortMappingsAreTaggedRulesAndRemovedExactly(FirewallBackend firewall)
    {
        host = await NetworkTestHost.CreateAsync(firewall);
        await host.CreateNetworkAsync("pub", "10.54.0.0/24");
        var web = Guid.NewGuid();
        var dns = Guid.NewGuid();
        var webAdapter = await host.Manager.AllocateAdapterAsync(web, "web", "pub", null, null, CancellationToken.None);
        await host.Manager.AllocateAdapterAsync(dns, "dns", "pub", null, null, CancellationToken.None);
        var rulesWithout = await host.FirewallTagsAsync();

        var mapping = await host.Manager.AddPortMappingAsync(web, new PortMappingOptions { HostPort = 8080, VmPort = 80 }, CancellationToken.None);
        await host.Manager.AddPortMappingAsync(dns, new PortMappingOptions { HostPort = 5353, VmPort = 53, Protocol = PortProtocol.Udp, HostAddress = "127.0.0.1" }, CancellationToken.None);

        Assert.Equal(("web", "pub", webAdapter.IPAddress, 80, (string?)null), (mapping.VmName, mapping.Network, mapping.VmAddress, mapping.VmPort, mapping.HostAddress));
        var tags = await host.FirewallTagsAsync();
        Assert.Equal(2, tags.Count(tag => tag == $"vmps:pub:vm={web:N}:tcp/8080"));
        Assert.Equal(2, tags.Count(tag => tag == $"vmps:pub:vm={dns:N}:udp/5353"));
        Assert.Equal(2, (await host.Manager.GetPortMappingsAsync(null, CancellationToken.None)).Count);

        var taken = await Assert.ThrowsAsync<VmPsException>(() =>
            host.Manager.AddPortMappingAsync(dns, new PortMappingOptions { HostPort = 8080, VmPort = 8080 }, CancellationToken.None));
        Assert.Equal("PortInUse", taken.ErrorId);
        Assert.Contains("'web'", taken.Message);
        using (var listening = await host.Scratch.Namespace.RunAsync(() => Listen(9090), CancellationToken.None))
        {
            Assert.Equal("PortInUse", (await Assert.ThrowsAsync<VmPsException>(() =>
                host.Manager.AddPortMappingAsync(dns, new PortMappingOptions { HostPort = 9090, VmPort = 90 }, CancellationToken.None))).ErrorId);
        }

        Assert.Equal("HostAddressNotLocal", (await Assert.ThrowsAsync<VmPsException>(() =>
            host.Manager.AddPortMappingAsync(dns, new PortMappingOptions { HostPort = 9091, VmPort = 90, HostAddress = "192.0.2.50" }, CancellationToken.None))).ErrorId);
        Assert.Equal("InvalidPort", (await Assert.ThrowsAsync<VmPsException>(() =>
            host.Manager.AddPortMappingAsync(dns, new PortMappingOptions { HostPort = 0, VmPort = 90 }, CancellationToken.None))).ErrorId);

        await host.Manager.RemovePortMappingAsync(web, PortProtocol.Tcp, 8080, CancellationToken.None);
        await host.Manager.RemovePortMappingAsync(dns, PortProtocol.Udp, 5353, CancellationToken.None);

        Assert.Equal(rulesWithout, await host.FirewallTagsAsync());
        Assert.Equal("PortMappingNotFound", (await Assert.ThrowsAsync<VmPsException>(() =>
            host.Manager.RemovePortMappingAsync(web, PortProtocol.Tcp, 8080, CancellationToken.None))).ErrorId);
    }

    [RequiresNetworkFact]
    public async Task IptablesRefusesABandwidthLimitAboveWhatItCanPoliceAndLeavesNoRow()
    {
        host = await NetworkTestHost.CreateAsync(FirewallBackend.Iptables);
        await host.CreateNetworkAsync("fast", "10.56.0.0/24");
        var rows = await host.NetworkRowsAsync();

        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            host.Manager.AllocateAdapterAsync(Guid.NewGuid(), "x", "fast", null, 10_000, CancellationToken.None));

        Assert.Equal(("InvalidBandwidth", VmPsErrorKind.InvalidArgument), (error.ErrorId, error.Kind));
        Assert.Contains("8000", error.Message);
        Assert.Equal(rows, await host.NetworkRowsAsync());
        Assert.Equal(8000, (await host.Manager.AllocateAdapterAsync(Guid.NewGuid(), "y", "fast", null, 8000, CancellationToken.None)).MaxBandwidthMbps);
    }

    [RequiresNetworkFact]
    public async Task NftablesChangesTouchOnlyTheRulesThatDifferAndKeepThePolicyOrder()
    {
        host = await NetworkTestHost.CreateAsync();
        var network = await host.CreateNetworkAsync("inc", "10.55.0.0/24");
        var forward = "fwd_" + network.Bridge["vmpsbr-".Length..];
        var web = Guid.NewGuid();
        await host.Manager.AllocateAdapterAsync(web, "web", "inc", null, null, CancellationToken.None);
        await host.Manager.AddPortMappingAsync(web, new PortMappingOptions { HostPort = 8080, VmPort = 80 }, CancellationToken.None);
        var first = await RuleHandlesAsync();

        var limited = Guid.NewGuid();
        await host.Manager.AllocateAdapterAsync(limited, "slow", "inc", null, 10, CancellationToken.None);
        await host.Manager.PlugAsync(limited, CancellationToken.None);
        await host.Manager.AddPortMappingAsync(limited, new PortMappingOptions { HostPort = 8443, VmPort = 443 }, CancellationToken.None);
        var second = await RuleHandlesAsync();

        Assert.All(first, rule => Assert.Equal(rule.Value, second[rule.Key]));
        Assert.Contains((forward, $"vmps:inc:vm={limited:N}:limit"), second.Keys);
        Assert.Equal(
            [$"vmps:inc:vm={limited:N}:limit", "vmps:inc:established", "vmps:inc:published", "vmps:inc:bridge", "vmps:inc:inbound", "vmps:inc:ipv6"],
            (await RulesInOrderAsync()).Where(rule => rule.Chain == forward).Select(rule => rule.Tag));

        await host.Manager.RemovePortMappingAsync(web, PortProtocol.Tcp, 8080, CancellationToken.None);
        var third = await RuleHandlesAsync();

        Assert.Equal(second.Where(rule => !rule.Key.Tag.EndsWith("tcp/8080", StringComparison.Ordinal)), third);
    }

    public void Dispose() => host?.Dispose();

    /// <summary>Every rule's handle by its chain and tag.</summary>
    private async Task<Dictionary<(string Chain, string Tag), long>> RuleHandlesAsync() =>
        (await RulesInOrderAsync()).ToDictionary(rule => (rule.Chain, rule.Tag), rule => rule.Handle);

    /// <summary>Every rule of the namespace's ruleset as nft lists it, in chain order.</summary>
    private async Task<List<(string Chain, string Tag, long Handle)>> RulesInOrderAsync()
    {
        using var document = JsonDocument.Parse(await host!.Scratch.RulesetAsync());
        return document.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("rule", out _))
            .Select(item => item.GetProperty("rule"))
            .Select(rule => (rule.GetProperty("chain").GetString()!, rule.GetProperty("comment").GetString()!, rule.GetProperty("handle").GetInt64()))
            .ToList();
    }

    private static Socket Listen(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Any, port));
        socket.Listen();
        return socket;
    }

    /// <summary>The namespace's links, firewall and network rows, for checking that reads change nothing.</summary>
    private async Task<string> HostStateAsync() =>
        string.Join('\n', await host!.Scratch.LinkNamesAsync()) + "\n" + await host.FirewallStateAsync() + "\n" + string.Join('\n', await host.NetworkRowsAsync());

    /// <summary>Everything in the firewall gone, as after a reboot or an admin's flush.</summary>
    private Task WipeFirewallAsync(FirewallBackend firewall) =>
        firewall == FirewallBackend.Nftables
            ? host!.Scratch.ExecCheckedAsync("nft", "flush", "ruleset")
            : host!.Scratch.ExecCheckedAsync("sh", "-c", "for t in filter nat; do iptables -t $t -F && iptables -t $t -X; done; ip6tables -F && ip6tables -X");
}
