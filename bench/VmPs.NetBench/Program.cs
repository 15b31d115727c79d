using System.Diagnostics;
using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Processes;

// Creating and tearing down one VM's network attachment (persistent TAP on the bridge + a published
// port's DNAT rules): NetworkManager against an iproute2 + nft shell script, alternating runs, inside
// a network namespace of the benchmark's own.
var runs = args.Length > 1 && args[0] == "--runs" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("The network benchmark needs root (it creates a namespace, a bridge and TAPs).");
    return 1;
}

var namespaceName = $"vmpsb-{Environment.ProcessId}";
var home = Directory.CreateTempSubdirectory("vmps-netbench-");
var script = Path.Combine(AppContext.BaseDirectory, "peer-attach.sh");
await ExternalTool.RunCheckedAsync("ip", ["netns", "add", namespaceName], CancellationToken.None);
try
{
    using var networkNamespace = NetworkNamespace.Named(namespaceName);
    var manager = new NetworkManager(new VmPsPaths(home.FullName), networkNamespace);
    var network = await manager.CreateAsync(new NetworkCreateOptions { Name = "bench", Subnet = "10.200.0.0/24" }, CancellationToken.None);
    await networkNamespace.RunStartedAsync(
        () => ExternalTool.RunCheckedAsync(
            "nft",
            ["-f", "-"],
            CancellationToken.None,
            """
            add table inet peer
            add chain inet peer pre { type nat hook prerouting priority dstnat; }
            add chain inet peer out { type nat hook output priority -100; }
            """),
        CancellationToken.None);

    Console.WriteLine($"network attachment (TAP + published port rules), create and tear down: {runs} runs after one warm-up each, namespace {namespaceName}");
    var peer = new List<TimeSpan>();
    var vmps = new List<TimeSpan>();
    for (var run = 0; run <= runs; run++)
    {
        var peerTime = await TimeAsync(() => networkNamespace.RunStartedAsync(
            () => ExternalTool.RunCheckedAsync("bash", [script, $"vmpsp-{run}", network.Bridge, "10.200.0.250"], CancellationToken.None),
            CancellationToken.None));
        var vmpsTime = await TimeAsync(() => AttachAndDetachAsync(manager));
        if (run > 0)
        {
            peer.Add(peerTime);
            vmps.Add(vmpsTime);
        }
    }

    await manager.RemoveAsync("bench", force: true, CancellationToken.None);
    var peerMedian = BenchStatistics.Median(peer);
    var ratio = BenchStatistics.Median(vmps) / peerMedian;
    Console.WriteLine();
    Console.WriteLine($"{"measure",-62} {"median",9} {"ratio",8}");
    BenchStatistics.Report("peer: ip tuntap/link + nft add/delete rule (bash script)", peerMedian, peerMedian, 62);
    BenchStatistics.Report("vmps: Allocate + AddPortMapping + Plug + Unplug + Release", BenchStatistics.Median(vmps), peerMedian, 62);
    Console.WriteLine();
    Console.WriteLine($"ratio {ratio:0.00}x (target <= 0.50x): {(ratio <= 0.5 ? "met" : "NOT met")}");
    return 0;
}
finally
{
    await ExternalTool.RunAsync("ip", ["netns", "del", namespaceName], CancellationToken.None);
    home.Delete(recursive: true);
}

static async Task AttachAndDetachAsync(NetworkManager manager)
{
    var vmId = Guid.NewGuid();
    await manager.AllocateAdapterAsync(vmId, "bench-vm", "bench", null, null, CancellationToken.None);
    await manager.AddPortMappingAsync(vmId, new PortMappingOptions { HostPort = 18080, VmPort = 80 }, CancellationToken.None);
    await manager.PlugAsync(vmId, CancellationToken.None);
    await manager.UnplugAsync(vmId, CancellationToken.None);
    await manager.ReleaseAdapterAsync(vmId, CancellationToken.None);
}

static async Task<TimeSpan> TimeAsync(Func<Task> action)
{
    var stopwatch = Stopwatch.StartNew();
    await action();
    return stopwatch.Elapsed;
}
