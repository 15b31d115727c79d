using System.Diagnostics;
using VmPs.Core.Hypervisors;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// Four busybox VMs booted under QEMU on VmPs networks, inside a network namespace of the test's own
/// (the VmPs namespace) and shared by every test of <see cref="VmNetworkingTests"/>:
/// <list type="bullet">
/// <item>web and peer on `lab` (10.201.0.0/24, NAT); web publishes its port 80 as host port 8080;</item>
/// <item>iso1 and iso2 on `iso` (10.202.0.0/24, NAT, -Isolated).</item>
/// </list>
/// A second namespace, `upstream`, stands for the outside world and another host: it is linked to the
/// VmPs namespace by a veth pair (192.168.77.1 on the VmPs side, the default route, and 192.168.77.2)
/// and serves HTTP on 192.168.77.2:8000. It has no route to the VM subnets, so only NAT lets VMs reach it.
/// </summary>
public sealed class NetworkedVms : IAsyncLifetime
{
    public const string UplinkAddress = "192.168.77.1";
    public const string UpstreamAddress = "192.168.77.2";
    public const int UpstreamHttpPort = 8000;
    public const string UpstreamGreeting = "hello from upstream";
    public const int WebHostPort = 8080;

    private readonly TemporaryVmPsHome home = new();
    private readonly string upstreamRoot = Directory.CreateTempSubdirectory("vmps-upstream-").FullName;
    private Process? upstreamHttpd;

    public ScratchNamespace VmPsNamespace { get; private set; } = null!;

    public ScratchNamespace Upstream { get; private set; } = null!;

    public VmManager Manager { get; private set; } = null!;

    public NetworkInfo Lab { get; private set; } = null!;

    public NetworkInfo Isolated { get; private set; } = null!;

    public TemporaryVmPsHome Home => home;

    public async Task InitializeAsync()
    {
        if (RequiresNetworkedVmBootFactAttribute.Reason is not null)
        {
            return;
        }

        VmPsNamespace = await ScratchNamespace.CreateAsync();
        Upstream = await ScratchNamespace.CreateAsync();
        await LinkUpstreamAsync();
        Manager = new VmManager(home.Paths, new VmManagerSettings { NetworkNamespace = VmPsNamespace.Namespace });
        Lab = await Manager.Networks.CreateAsync(new NetworkCreateOptions { Name = "lab", Subnet = "10.201.0.0/24" }, CancellationToken.None);
        Isolated = await Manager.Networks.CreateAsync(new NetworkCreateOptions { Name = "iso", Subnet = "10.202.0.0/24", Isolated = true }, CancellationToken.None);

        await CreateAsync("web", "lab", [new PortMappingOptions { HostPort = WebHostPort, VmPort = 80 }]);
        await CreateAsync("peer", "lab", []);
        await CreateAsync("iso1", "iso", []);
        await CreateAsync("iso2", "iso", []);

        // The first boot builds the shared initrd; the others then boot side by side.
        await StartAsync("web");
        await Task.WhenAll(StartAsync("peer"), StartAsync("iso1"), StartAsync("iso2"));
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Manager is not null)
            {
                foreach (var vm in await Manager.GetAllAsync(CancellationToken.None))
                {
                    await Manager.RemoveAsync(vm.Name, force: true, CancellationToken.None);
                }
            }
        }
        finally
        {
            if (upstreamHttpd is not null)
            {
                upstreamHttpd.Kill();
                await upstreamHttpd.WaitForExitAsync();
                upstreamHttpd.Dispose();
            }

            VmPsNamespace?.Dispose();
            Upstream?.Dispose();
            Directory.Delete(upstreamRoot, recursive: true);
            home.Dispose();
        }
    }

    /// <summary>Runs a command in a VM through its agent.</summary>
    public Task<VmCommandResult> RunAsync(string vm, params string[] command) =>
        Manager.ExecAsync(vm, new VmExecOptions { Command = command, Timeout = TimeSpan.FromSeconds(90) }, CancellationToken.None);

    public async Task<string> RunCheckedAsync(string vm, params string[] command)
    {
        var result = await RunAsync(vm, command);
        Assert.True(result.ExitCode == 0, $"'{string.Join(' ', command)}' in {vm} exited with {result.ExitCode}: {result.Stdout}{result.Stderr}");
        return result.Stdout;
    }

    public async Task<string> AddressOfAsync(string vm) =>
        (await Manager.GetAsync(vm, CancellationToken.None)).IPAddress ?? throw new InvalidOperationException($"{vm} has no address");

    private async Task LinkUpstreamAsync()
    {
        await VmPsNamespace.IpAsync("link", "add", "uplink", "type", "veth", "peer", "name", "downlink", "netns", Upstream.Name);
        await VmPsNamespace.IpAsync("addr", "add", UplinkAddress + "/24", "dev", "uplink");
        await VmPsNamespace.IpAsync("link", "set", "uplink", "up");
        await VmPsNamespace.IpAsync("route", "add", "default", "via", UpstreamAddress);
        await Upstream.IpAsync("addr", "add", UpstreamAddress + "/24", "dev", "downlink");
        await Upstream.IpAsync("link", "set", "downlink", "up");

        await File.WriteAllTextAsync(Path.Combine(upstreamRoot, "hello.txt"), UpstreamGreeting + "\n");
        upstreamHttpd = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", Upstream.Name, "busybox", "httpd", "-f", "-p", $"{UpstreamAddress}:{UpstreamHttpPort}", "-h", upstreamRoot])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
    }

    private Task<VmInfo> CreateAsync(string name, string network, IReadOnlyList<PortMappingOptions> published) =>
        Manager.CreateAsync(
            new VmCreateOptions
            {
                Name = name,
                Image = "busybox",
                MemoryMiB = 256,
                Hypervisor = HypervisorKind.Qemu,
                Network = new VmNetworkOptions { Network = network, PublishedPorts = published },
            },
            CancellationToken.None);

    private Task<VmInfo> StartAsync(string name) => Manager.StartAsync(name, new VmStartOptions(), progress: null, CancellationToken.None);
}
