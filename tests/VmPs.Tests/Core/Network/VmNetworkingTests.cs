using System.Globalization;
using System.Text.RegularExpressions;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// VMs on VmPs networks, end to end with real QEMU boots, TAPs, bridges and nftables inside network
/// namespaces the test creates (see <see cref="NetworkedVms"/>; four boots serve every test).
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed partial class VmNetworkingTests : IClassFixture<NetworkedVms>
{
    private readonly NetworkedVms vms;

    public VmNetworkingTests(NetworkedVms vms)
    {
        this.vms = vms;
    }

    [RequiresNetworkedVmBootFact]
    public async Task TwoVmsOnOneNetworkPingEachOtherAndTheGateway()
    {
        var web = await vms.AddressOfAsync("web");
        var peer = await vms.AddressOfAsync("peer");

        await vms.RunCheckedAsync("web", "ping", "-c", "3", "-W", "5", peer);
        await vms.RunCheckedAsync("peer", "ping", "-c", "3", "-W", "5", web);
        await vms.RunCheckedAsync("peer", "ping", "-c", "3", "-W", "5", vms.Lab.Gateway);
    }

    [RequiresNetworkedVmBootFact]
    public async Task GetVmShowsTheAddressTheGuestHasAndTheGuestKnowsItsNames()
    {
        var info = await vms.Manager.GetAsync("web", CancellationToken.None);
        var adapter = await vms.Manager.GetNetworkAdapterAsync("web", CancellationToken.None);
        var listed = (await vms.Manager.GetAllAsync(CancellationToken.None)).Single(vm => vm.Name == "web");

        Assert.NotNull(adapter);
        Assert.Equal("lab", info.Network);
        Assert.Equal(adapter.IPAddress, info.IPAddress);
        Assert.Equal(info.IPAddress, listed.IPAddress);
        Assert.Equal(info.MacAddress, adapter.MacAddress);
        Assert.True(adapter.Plugged);
        Assert.Contains(adapter.Tap, await vms.VmPsNamespace.LinkNamesAsync());

        var addresses = await vms.RunCheckedAsync("web", "ip", "-4", "-o", "addr", "show");
        Assert.Contains($"inet {adapter.IPAddress}/{adapter.PrefixLength}", addresses);
        Assert.Contains($"default via {vms.Lab.Gateway}", await vms.RunCheckedAsync("web", "ip", "route"));
        Assert.Contains($"nameserver {vms.Lab.Dns[0]}", await vms.RunCheckedAsync("web", "cat", "/etc/resolv.conf"));
        Assert.Matches($@"(?m)^{Regex.Escape(adapter.IPAddress)}\s+web$", await vms.RunCheckedAsync("web", "cat", "/etc/hosts"));
    }

    [RequiresNetworkedVmBootFact]
    public async Task TheFirstCommandAfterStartVmFindsTheAddressTheDefaultRouteAndTheDns()
    {
        await BootAsync("early", "10.201.0.78", []);
        try
        {
            // No ping or wait first: the guest configures its network before it lets the agent run a command.
            var seen = await vms.RunCheckedAsync("early", "sh", "-c", "ip -4 -o addr show; ip route; cat /etc/resolv.conf");

            Assert.Contains("inet 10.201.0.78/24", seen);
            Assert.Contains($"default via {vms.Lab.Gateway}", seen);
            Assert.Contains($"nameserver {vms.Lab.Dns[0]}", seen);
        }
        finally
        {
            await vms.Manager.RemoveAsync("early", force: true, CancellationToken.None);
        }
    }

    [RequiresNetworkedVmBootFact]
    public async Task PacketsThroughAVmsTapAreActivityThatGetVmNotices()
    {
        var address = await vms.AddressOfAsync("peer");
        await vms.Manager.GetAsync("peer", CancellationToken.None);
        var beforeSending = DateTimeOffset.UtcNow;

        // A UDP datagram from the bridge's side (with the ARP exchange before it) passes the VM's TAP; no exec.
        await vms.VmPsNamespace.ExecCheckedAsync("bash", "-c", $"echo idle-check > /dev/udp/{address}/9");
        var info = await ReadUntilAsync(() => vms.Manager.GetAsync("peer", CancellationToken.None), vm => vm.LastActivityAt >= beforeSending);

        Assert.NotNull(info.LastActivityAt);
        Assert.True(info.LastActivityAt >= beforeSending, $"LastActivityAt {info.LastActivityAt:O} is before the datagram at {beforeSending:O}");
        Assert.InRange(info.IdleTime!.Value, TimeSpan.Zero, DateTimeOffset.UtcNow - beforeSending);
    }

    [RequiresNetworkedVmBootFact]
    public async Task MeasureVmCountsTheTrafficThroughTheVmsTap()
    {
        var address = await vms.AddressOfAsync("peer");
        var before = await vms.Manager.MeasureAsync("peer", CancellationToken.None);

        await vms.VmPsNamespace.ExecCheckedAsync("bash", "-c", $"for i in 1 2 3; do echo measured > /dev/udp/{address}/9; done");
        // The guest answers (ARP, or ICMP port unreachable: nothing listens on port 9) after it has read the datagrams.
        var after = await ReadUntilAsync(
            () => vms.Manager.MeasureAsync("peer", CancellationToken.None),
            measured => measured.NetworkReceivedPackets >= before.NetworkReceivedPackets + 3 && measured.NetworkSentPackets > before.NetworkSentPackets);

        Assert.True(after.NetworkReceivedPackets >= before.NetworkReceivedPackets + 3, $"{before.NetworkReceivedPackets} -> {after.NetworkReceivedPackets} packets");
        Assert.True(after.NetworkReceivedBytes >= before.NetworkReceivedBytes + (3 * "measured\n".Length), $"{before.NetworkReceivedBytes} -> {after.NetworkReceivedBytes} bytes");
        Assert.True(after.NetworkSentPackets > before.NetworkSentPackets, $"{before.NetworkSentPackets} -> {after.NetworkSentPackets} packets sent");
        Assert.NotNull(after.GuestMemoryTotalBytes);
    }

    [RequiresNetworkedVmBootFact]
    public async Task AVmReachesAServerInAnotherNamespaceThroughNat()
    {
        var page = await vms.RunCheckedAsync(
            "peer", "wget", "-q", "-O", "-", $"http://{NetworkedVms.UpstreamAddress}:{NetworkedVms.UpstreamHttpPort}/hello.txt");

        Assert.Equal(NetworkedVms.UpstreamGreeting, page.Trim());
    }

    [RequiresNetworkedVmBootFact]
    public async Task APublishedPortServesTheHostItsGatewayAndAnotherHost()
    {
        await vms.RunCheckedAsync("web", "sh", "-c", "mkdir -p /srv/www && echo served-by-web > /srv/www/index.html && httpd -p 80 -h /srv/www");
        // httpd daemonizes before it listens: poll until it answers inside the guest.
        var local = await vms.RunCheckedAsync(
            "web", "sh", "-c", "for i in $(seq 100); do wget -q -O - http://127.0.0.1/ 2>/dev/null && exit 0; sleep 0.1; done; exit 1");
        Assert.Equal("served-by-web", local.Trim());
        var port = NetworkedVms.WebHostPort;

        var answers = new[]
        {
            await FetchAsync(vms.VmPsNamespace, $"http://127.0.0.1:{port}/"),
            await FetchAsync(vms.VmPsNamespace, $"http://{vms.Lab.Gateway}:{port}/"),
            await FetchAsync(vms.Upstream, $"http://{NetworkedVms.UplinkAddress}:{port}/"),
        };

        Assert.All(answers, answer => Assert.EndsWith(": served-by-web", answer));
    }

    /// <summary>
    /// Reads until <paramref name="seen"/> holds, 10 s at most, and returns the last reading: a TAP counts a packet once
    /// QEMU has read it, which its main loop does a moment later (after the ARP exchange, for a first packet).
    /// </summary>
    private static async Task<T> ReadUntilAsync<T>(Func<Task<T>> read, Func<T, bool> seen)
    {
        var reading = await read();
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !seen(reading) && clock.Elapsed < TimeSpan.FromSeconds(10);)
        {
            await Task.Delay(50);
            reading = await read();
        }

        return reading;
    }

    /// <summary>"URL: body" or "URL: failed (exit code)", so one failure does not hide how the others went.</summary>
    private static async Task<string> FetchAsync(ScratchNamespace from, string url)
    {
        var result = await from.ExecAsync("timeout", "30", "busybox", "wget", "-q", "-O", "-", url);
        return result.ExitCode == 0 ? $"{url}: {result.StandardOutput.Trim()}" : $"{url}: failed ({result.ExitCode}) {result.StandardError.Trim()}";
    }

    [RequiresNetworkedVmBootFact]
    public async Task IsolationBlocksOtherNetworksAndNeighboursOnAnIsolatedNetwork()
    {
        var web = await vms.AddressOfAsync("web");
        var iso1 = await vms.AddressOfAsync("iso1");
        var iso2 = await vms.AddressOfAsync("iso2");

        // What must still work, so that the failures below are the rules' doing.
        await vms.RunCheckedAsync("iso1", "ping", "-c", "3", "-W", "5", vms.Isolated.Gateway);
        await vms.RunCheckedAsync("iso2", "ping", "-c", "3", "-W", "5", vms.Isolated.Gateway);

        Assert.NotEqual(0, (await vms.RunAsync("iso1", "ping", "-c", "2", "-W", "2", iso2)).ExitCode);
        Assert.NotEqual(0, (await vms.RunAsync("iso1", "ping", "-c", "2", "-W", "2", web)).ExitCode);
        Assert.NotEqual(0, (await vms.RunAsync("web", "ping", "-c", "2", "-W", "2", iso1)).ExitCode);
    }

    [RequiresNetworkedVmBootFact]
    public async Task TheAgentsNetworkConfigureChangesTheGuestAddressRouteAndDns()
    {
        var adapter = (await vms.Manager.GetNetworkAdapterAsync("iso2", CancellationToken.None))!;
        var original = GuestConfigFactory.Network(adapter);
        var moved = original with { Address = "10.202.0.200", Dns = ["9.9.9.9"] };

        await using (var agent = await vms.Manager.ConnectAgentAsync("iso2", CancellationToken.None))
        {
            var interfaceName = await agent.ConfigureNetworkAsync(moved, CancellationToken.None);
            var addresses = await agent.ExecAsync(new AgentExecRequest(["ip", "-4", "-o", "addr", "show", "dev", interfaceName]), CancellationToken.None);
            var routes = await agent.ExecAsync(new AgentExecRequest(["ip", "route"]), CancellationToken.None);
            var resolvConf = await agent.ExecAsync(new AgentExecRequest(["cat", "/etc/resolv.conf"]), CancellationToken.None);

            Assert.Contains("inet 10.202.0.200/24", addresses.Stdout);
            Assert.DoesNotContain($"inet {adapter.IPAddress}/", addresses.Stdout);
            Assert.Contains($"default via {adapter.Gateway} dev {interfaceName}", routes.Stdout);
            Assert.Contains("nameserver 9.9.9.9", resolvConf.Stdout);

            var unknown = await Assert.ThrowsAsync<VmPsException>(() =>
                agent.ConfigureNetworkAsync(original with { MacAddress = "02:00:00:00:00:01" }, CancellationToken.None));
            Assert.Equal("GuestNetworkInterfaceNotFound", unknown.ErrorId);

            Assert.Equal(interfaceName, await agent.ConfigureNetworkAsync(original, CancellationToken.None));
        }

        Assert.Contains($"inet {adapter.IPAddress}/24", await vms.RunCheckedAsync("iso2", "ip", "-4", "-o", "addr", "show"));
        await vms.RunCheckedAsync("iso2", "ping", "-c", "3", "-W", "5", adapter.Gateway);
    }

    [RequiresNetworkedVmBootFact]
    public async Task RemoveVmReturnsTheAddressAndLeavesNoTapRuleOrRow()
    {
        var before = await SnapshotAsync();
        var options = new VmCreateOptions
        {
            Name = "brief",
            Image = "busybox",
            MemoryMiB = 256,
            Hypervisor = VmPs.Core.Hypervisors.HypervisorKind.Qemu,
            Network = new VmNetworkOptions { Network = "lab", IPAddress = "10.201.0.77", PublishedPorts = [new PortMappingOptions { HostPort = 8090, VmPort = 80 }] },
        };

        var created = await vms.Manager.CreateAsync(options, CancellationToken.None);
        await vms.Manager.StartAsync("brief", new VmStartOptions { WaitForAgent = false }, progress: null, CancellationToken.None);
        var adapter = (await vms.Manager.GetNetworkAdapterAsync("brief", CancellationToken.None))!;
        Assert.Equal("10.201.0.77", created.IPAddress);
        Assert.Contains(adapter.Tap, await vms.VmPsNamespace.LinkNamesAsync());
        Assert.Contains("8090", await RulesetAsync());

        await vms.Manager.RemoveAsync("brief", force: true, CancellationToken.None);

        Assert.Equal(before, await SnapshotAsync());

        // The address is free again: a new VM can have it.
        var again = await vms.Manager.CreateAsync(options with { Name = "brief2" }, CancellationToken.None);
        Assert.Equal("10.201.0.77", again.IPAddress);
        await vms.Manager.RemoveAsync("brief2", force: false, CancellationToken.None);
        Assert.Equal(before, await SnapshotAsync());
    }

    [RequiresNetworkedVmBootFact]
    public async Task ACreateThatFailsHalfwayLeavesNoVmAddressOrRule()
    {
        var before = await SnapshotAsync();
        var web = await vms.AddressOfAsync("web");
        VmCreateOptions Options(string name, VmNetworkOptions network) =>
            new() { Name = name, Image = "busybox", Hypervisor = VmPs.Core.Hypervisors.HypervisorKind.Qemu, Network = network };

        var portTaken = await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.CreateAsync(
            Options("clash", new VmNetworkOptions { Network = "lab", PublishedPorts = [new PortMappingOptions { HostPort = NetworkedVms.WebHostPort, VmPort = 80 }] }),
            CancellationToken.None));
        var addressTaken = await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.CreateAsync(
            Options("clash", new VmNetworkOptions { Network = "lab", IPAddress = web }),
            CancellationToken.None));
        var noNetwork = await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.CreateAsync(
            Options("clash", new VmNetworkOptions { Network = "nowhere" }),
            CancellationToken.None));

        Assert.Equal("PortInUse", portTaken.ErrorId);
        Assert.Equal("AddressInUse", addressTaken.ErrorId);
        Assert.Equal("NetworkNotFound", noNetwork.ErrorId);
        Assert.Null(await vms.Manager.FindAsync("clash", CancellationToken.None));
        Assert.Equal(before, await SnapshotAsync());
    }

    [RequiresNetworkedVmBootFact]
    public async Task ATapDeletedUnderARunningVmLeavesItDetachedUntilItRestartsInsteadOfFakingATap()
    {
        await BootAsync("cut", "10.201.0.81", []);
        var adapter = (await vms.Manager.GetNetworkAdapterAsync("cut", CancellationToken.None))!;
        Assert.Equal(NetworkAdapterStatus.Connected, adapter.Status);
        await vms.RunCheckedAsync("cut", "ping", "-c", "3", "-W", "5", vms.Lab.Gateway);

        await vms.VmPsNamespace.IpAsync("link", "del", adapter.Tap);
        var links = await vms.VmPsNamespace.LinkNamesAsync();

        var vm = await vms.Manager.GetAsync("cut", CancellationToken.None);
        var lab = await vms.Manager.Networks.GetAsync("lab", CancellationToken.None);
        var repair = await vms.Manager.RepairNetworkAsync("lab", dryRun: false, CancellationToken.None);

        Assert.Equal(links, await vms.VmPsNamespace.LinkNamesAsync());
        Assert.Equal((VmState.Running, NetworkAdapterStatus.Detached), (vm.State, vm.NetworkStatus));
        Assert.Equal(NetworkAdapterStatus.Detached, (await vms.Manager.GetNetworkAdapterAsync("cut", CancellationToken.None))!.Status);
        Assert.Contains($"TAP {adapter.Tap} of VM 'cut' is missing, so the VM has no network", lab.Problems);
        Assert.Contains("VM 'cut' is active", Assert.Single(repair.Unrepairable));
        Assert.NotEqual(0, (await vms.RunAsync("cut", "ping", "-c", "1", "-W", "2", vms.Lab.Gateway)).ExitCode);

        await vms.Manager.StopAsync("cut", new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
        await vms.Manager.StartAsync("cut", new VmStartOptions(), progress: null, CancellationToken.None);

        Assert.Equal(NetworkAdapterStatus.Connected, (await vms.Manager.GetAsync("cut", CancellationToken.None)).NetworkStatus);
        await vms.RunCheckedAsync("cut", "ping", "-c", "3", "-W", "5", vms.Lab.Gateway);
        await vms.Manager.RemoveAsync("cut", force: true, CancellationToken.None);
    }

    [RequiresNetworkedVmBootFact]
    public async Task AKilledHypervisorsTapIsReportedDetachedGoesWithTheNextRepairOrStartAndNothingLeaksAfterRemoval()
    {
        var before = await SnapshotAsync();
        await BootAsync("crash", "10.201.0.82", [new PortMappingOptions { HostPort = 8091, VmPort = 80 }]);
        var tap = (await vms.Manager.GetNetworkAdapterAsync("crash", CancellationToken.None))!.Tap;

        await KillHypervisorAsync("crash");
        var links = await vms.VmPsNamespace.LinkNamesAsync();
        var rules = await RulesetAsync();
        var crashed = await vms.Manager.GetAsync("crash", CancellationToken.None);
        var plan = await vms.Manager.RepairNetworkAsync("lab", dryRun: true, CancellationToken.None);

        Assert.Equal((VmState.Crashed, NetworkAdapterStatus.Detached), (crashed.State, crashed.NetworkStatus));
        Assert.Equal(links, await vms.VmPsNamespace.LinkNamesAsync());
        Assert.Contains(tap, links);
        Assert.Equal(rules, await RulesetAsync());
        Assert.Equal([$"delete TAP {tap} of VM 'crash', which is not running"], plan.Repairs);

        var repaired = await vms.Manager.RepairNetworkAsync("lab", dryRun: false, CancellationToken.None);

        Assert.Equal(NetworkStatus.Healthy, repaired.Network.Status);
        Assert.DoesNotContain(tap, await vms.VmPsNamespace.LinkNamesAsync());
        Assert.Equal(NetworkAdapterStatus.Unplugged, (await vms.Manager.GetNetworkAdapterAsync("crash", CancellationToken.None))!.Status);
        Assert.Contains("8091", await RulesetAsync());

        // Started again it gets its TAP back; killed again, Remove-Vm leaves nothing of it.
        await vms.Manager.StartAsync("crash", new VmStartOptions(), progress: null, CancellationToken.None);
        Assert.Equal(NetworkAdapterStatus.Connected, (await vms.Manager.GetAsync("crash", CancellationToken.None)).NetworkStatus);
        await vms.RunCheckedAsync("crash", "ping", "-c", "3", "-W", "5", vms.Lab.Gateway);
        await KillHypervisorAsync("crash");
        await vms.Manager.RemoveAsync("crash", force: false, CancellationToken.None);

        Assert.Equal(before, await SnapshotAsync());
    }

    /// <summary>Creates a VM on lab and boots it until its agent answers.</summary>
    private async Task BootAsync(string name, string address, IReadOnlyList<PortMappingOptions> published)
    {
        await vms.Manager.CreateAsync(
            new VmCreateOptions
            {
                Name = name,
                Image = "busybox",
                MemoryMiB = 256,
                Hypervisor = HypervisorKind.Qemu,
                Network = new VmNetworkOptions { Network = "lab", IPAddress = address, PublishedPorts = published },
            },
            CancellationToken.None);
        await vms.Manager.StartAsync(name, new VmStartOptions(), progress: null, CancellationToken.None);
    }

    /// <summary>kill -9 of the VM's hypervisor, then waits (a minute at most) until VmPs sees it gone.</summary>
    private async Task KillHypervisorAsync(string name)
    {
        var pid = (await vms.Manager.GetAsync(name, CancellationToken.None)).ProcessId!.Value;
        await ExternalTool.RunCheckedAsync("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while ((await vms.Manager.GetAsync(name, CancellationToken.None)).State.IsActive())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{name} still looks active a minute after its hypervisor was killed.");
            await Task.Delay(100);
        }
    }

    /// <summary>Interfaces, rules (without traffic counters), adapters, port mappings, free addresses and VM directories.</summary>
    private async Task<string> SnapshotAsync()
    {
        var adapters = await vms.Manager.Networks.GetAdaptersAsync(null, CancellationToken.None);
        var mappings = await vms.Manager.Networks.GetPortMappingsAsync(null, CancellationToken.None);
        var networks = await vms.Manager.Networks.GetAllAsync(CancellationToken.None);
        return string.Join(
            Environment.NewLine,
            [
                string.Join(',', await vms.VmPsNamespace.LinkNamesAsync()),
                await RulesetAsync(),
                .. adapters.OrderBy(adapter => adapter.VmName).Select(adapter => $"{adapter.VmName} {adapter.IPAddress} {adapter.Tap} {adapter.Plugged} {adapter.Status}"),
                .. mappings.OrderBy(mapping => mapping.HostPort).Select(mapping => $"{mapping.VmName} {mapping.HostPort}->{mapping.VmPort}"),
                .. networks.Select(network => $"{network.Name} {network.VmCount} {network.FreeAddresses}"),
                .. Directory.EnumerateDirectories(vms.Home.Paths.VmsDirectory).Order(StringComparer.Ordinal),
            ]);
    }

    private async Task<string> RulesetAsync() =>
        Counters().Replace(await vms.VmPsNamespace.ExecCheckedAsync("nft", "list", "ruleset"), "counter");

    [GeneratedRegex(@"counter packets \d+ bytes \d+")]
    private static partial Regex Counters();
}
