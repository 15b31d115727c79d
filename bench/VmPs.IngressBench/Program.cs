using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Ingress;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.IngressBench;

// HTTPS ingress (issue 15): the same keep-alive load against one busybox VM's httpd, directly to http://VM-IP/ and
// through VmPs's Caddy at https://HOST/ (-Tls Internal, -Public), both from the namespace the VM's network lives in.
// Alternating rounds after one warm-up each; requests/s and p99 latency.
var counts = BenchArguments.ParseCounts(args, new Dictionary<string, int> { ["--rounds"] = 5, ["--requests"] = 300, ["--concurrency"] = 4 });
var (rounds, requests, concurrency) = (counts["--rounds"], counts["--requests"], counts["--concurrency"]);
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("The ingress benchmark needs root (it creates a namespace, a bridge and a TAP, boots a VM and binds port 443).");
    return 1;
}

var cancellationToken = CancellationToken.None;
const string vmName = "ingressbench";
const string hostname = "bench.example.test";
const string page = "hello from the vm\n";
var namespaceName = $"vmpsib-{Environment.ProcessId}";
var home = Directory.CreateTempSubdirectory("vmps-ingressbench-");
await ExternalTool.RunCheckedAsync("ip", ["netns", "add", namespaceName], cancellationToken);
var services = new VmPsServices(new VmPsSettings(home.FullName, namespaceName, null));
var routed = false;
try
{
    var networkNamespace = NetworkNamespace.Shared(namespaceName);
    await networkNamespace.RunStartedAsync(() => ExternalTool.RunCheckedAsync("ip", ["link", "set", "lo", "up"], cancellationToken), cancellationToken);
    await services.Networks.CreateAsync(new NetworkCreateOptions { Name = "bench", Subnet = "10.154.0.0/24" }, cancellationToken);
    await services.Vms.CreateAsync(
        new VmCreateOptions { Name = vmName, Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu, Network = new VmNetworkOptions { Network = "bench" } },
        cancellationToken);
    await services.Vms.StartAsync(vmName, new VmStartOptions { Timeout = TimeSpan.FromMinutes(5) }, null, cancellationToken);
    var serve = $"mkdir -p /www && printf '{page.Replace("\n", "\\n", StringComparison.Ordinal)}' > /www/index.html && httpd -p 80 -h /www";
    var served = await services.Vms.ExecAsync(vmName, new VmExecOptions { Command = ["sh", "-c", serve] }, cancellationToken);
    if (served.ExitCode != 0)
    {
        throw new InvalidOperationException($"Starting httpd in the VM exited with {served.ExitCode}: {served.Stderr}");
    }

    var address = (await services.Vms.GetNetworkAdapterAsync(vmName, cancellationToken))!.IPAddress;
    await services.Ingress.CreateAsync(new VmIngressCreateOptions { VmName = vmName, Hostname = hostname, Tls = IngressTls.Internal, Public = true }, cancellationToken);
    routed = true;
    using var root = X509CertificateLoader.LoadCertificateFromFile(new IngressLayout(services.Paths.IngressDirectory).InternalRootCertificate);
    using var directClient = NamespaceHttpClient.Create(networkNamespace, concurrency, null, null);
    using var ingressClient = NamespaceHttpClient.Create(networkNamespace, concurrency, new IPEndPoint(IPAddress.Loopback, 443), root);
    var subjects = new[]
    {
        ("direct: http://VM-IP/ (busybox httpd)", new HttpLoad(directClient, new Uri($"http://{address}/"))),
        ("ingress: https://HOST/ (Caddy, -Tls Internal)", new HttpLoad(ingressClient, new Uri($"https://{hostname}/"))),
    };
    var elapsedRounds = subjects.Select(_ => new List<TimeSpan>()).ToArray();
    var p99 = subjects.Select(_ => new List<TimeSpan>()).ToArray();
    foreach (var (_, load) in subjects)
    {
        await load.RunAsync(Math.Max(concurrency, requests / 10), concurrency, page, cancellationToken);
    }

    for (var round = 0; round < rounds; round++)
    {
        // The order alternates so neither side always runs after the other.
        foreach (var index in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
        {
            var (elapsed, latencies) = await subjects[index].Item2.RunAsync(requests, concurrency, page, cancellationToken);
            elapsedRounds[index].Add(elapsed);
            p99[index].Add(BenchStatistics.Percentile(latencies, 99));
        }
    }

    const int width = 48;
    Console.WriteLine($"one busybox VM (QEMU TCG, 1 vCPU, 256 MiB) at {address}; {rounds} rounds of {requests} GETs of {page.Length} bytes, " +
        $"{concurrency} keep-alive connections; load average {BenchArguments.LoadAverage()}");
    Console.WriteLine($"{"".PadRight(width)} {"req/s",9} {"p99",10} {"thruput",8}");
    var rates = elapsedRounds.Select(elapsed => requests / BenchStatistics.Median(elapsed).TotalSeconds).ToArray();
    for (var index = 0; index < subjects.Length; index++)
    {
        var rate = rates[index];
        Console.WriteLine($"{subjects[index].Item1.PadRight(width)} {rate,9:0.0} {BenchStatistics.Median(p99[index]).TotalMilliseconds,8:0.0}ms {rate / rates[0],7:0.00}x");
    }

    var ratio = rates[1] / rates[0];
    Console.WriteLine($"target: ingress >= 0.70x of the direct requests/s: {(ratio >= 0.7 ? "met" : "not met")} ({ratio:0.00}x)");
}
finally
{
    if (routed)
    {
        await services.Ingress.RemoveAsync(hostname, cancellationToken);
    }

    if (await services.Vms.FindAsync(vmName, cancellationToken) is not null)
    {
        await services.Vms.RemoveAsync(vmName, force: true, cancellationToken);
    }

    NetworkNamespace.Shared(namespaceName).Dispose();
    await ExternalTool.RunAsync("ip", ["netns", "del", namespaceName], cancellationToken);
    home.Delete(recursive: true);
}

return 0;
