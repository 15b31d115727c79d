using System.Diagnostics;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.SshGateway;
using VmPs.Core.Vms;
using VmPs.ExecBench;

// SSH gateway (issue 15): `ssh -p PORT NAME@HOST true` through VmPs's gateway (proxy mode: sshd, the gateway
// program, the agent runs true) against `ssh root@VM-IP true` to the VM's own sshd, a new connection each time as
// users run it, both from the namespace the VM's network lives in. Alternating runs after warm-ups; medians.
var counts = BenchArguments.ParseCounts(args, new Dictionary<string, int> { ["--runs"] = 15, ["--warmups"] = 2 });
var (runs, warmups) = (counts["--runs"], counts["--warmups"]);
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("The SSH gateway benchmark needs root (it creates a namespace, a bridge and a TAP, boots a VM and runs sshd).");
    return 1;
}

var cancellationToken = CancellationToken.None;
const string vmName = "gwbench";
var archive = await SshImage.GetArchiveAsync(cancellationToken);
var namespaceName = $"vmpsgw-{Environment.ProcessId}";
var home = Directory.CreateTempSubdirectory("vmps-sshgwbench-");
var scratch = Directory.CreateTempSubdirectory("vmps-sshgwbench-keys-");
await ExternalTool.RunCheckedAsync("ip", ["netns", "add", namespaceName], cancellationToken);
var services = new VmPsServices(new VmPsSettings(home.FullName, namespaceName, null));
try
{
    var networkNamespace = NetworkNamespace.Shared(namespaceName);
    await networkNamespace.RunStartedAsync(() => ExternalTool.RunCheckedAsync("ip", ["link", "set", "lo", "up"], cancellationToken), cancellationToken);
    var key = await SshPeer.GenerateKeyAsync(scratch.FullName, cancellationToken);
    var publicKey = await File.ReadAllTextAsync(key + ".pub", cancellationToken);
    await services.Users.CreateAsync(new VmUserCreateOptions { Name = "bench", Email = "bench@example.test", SshPublicKeys = [publicKey] }, cancellationToken);
    await new ImageManager(services.Paths).AddAsync(
        new DockerArchiveImageSource(archive, null), new ImageAddOptions { Name = "bookworm-ssh", InitMode = ImageInitMode.Exec }, null, cancellationToken);
    await services.Networks.CreateAsync(new NetworkCreateOptions { Name = "bench", Subnet = "10.155.0.0/24" }, cancellationToken);
    await services.Vms.CreateAsync(
        new VmCreateOptions { Name = vmName, Image = "bookworm-ssh", Owner = "bench", Network = new VmNetworkOptions { Network = "bench" } }, cancellationToken);
    await services.Vms.StartAsync(vmName, new VmStartOptions { Timeout = TimeSpan.FromMinutes(5) }, null, cancellationToken);
    var installed = await services.Vms.ExecAsync(
        vmName, new VmExecOptions { Command = ["sh", "-c", "mkdir -p -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys"], StandardInput = publicKey }, cancellationToken);
    if (installed.ExitCode != 0)
    {
        throw new InvalidOperationException($"Installing the key in the VM exited with {installed.ExitCode}: {installed.Stderr}");
    }

    var address = (await services.Vms.GetNetworkAdapterAsync(vmName, cancellationToken))!.IPAddress;
    var direct = new SshPeer(networkNamespace, key, address, Path.Combine(scratch.FullName, "control"));
    await direct.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);

    // The namespace is the benchmark's own, so the usual port is free there.
    const int port = 2222;
    await services.SshGateway.StartAsync(new SshGatewayStartOptions { Port = port, ListenAddress = "127.0.0.1" }, cancellationToken);
    string[] gatewayTrue =
    [
        "-F", "/dev/null", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", key, "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", $"{vmName}@127.0.0.1", "true",
    ];
    async Task GatewayTrueAsync()
    {
        var result = await networkNamespace.RunStartedAsync(() => ExternalTool.RunAsync("ssh", gatewayTrue, cancellationToken), cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh through the gateway exited with {result.ExitCode}: {result.StandardError}");
        }
    }

    var directTimes = new List<TimeSpan>();
    var gatewayTimes = new List<TimeSpan>();
    for (var run = -warmups; run < runs; run++)
    {
        // The order alternates so neither side always runs after the other.
        foreach (var (action, times) in Pairs(reverse: run % 2 != 0))
        {
            var watch = Stopwatch.StartNew();
            await action();
            if (run >= 0)
            {
                times.Add(watch.Elapsed);
            }
        }
    }

    (Func<Task>, List<TimeSpan>)[] Pairs(bool reverse = false)
    {
        (Func<Task>, List<TimeSpan>)[] pairs = [(() => direct.TrueAsync(cancellationToken), directTimes), (GatewayTrueAsync, gatewayTimes)];
        return reverse ? [pairs[1], pairs[0]] : pairs;
    }

    Console.WriteLine($"one Debian VM (QEMU TCG, its own sshd) at {address}; {runs} runs of each after {warmups} warm-ups, a new ssh connection each; " +
        $"load average {BenchArguments.LoadAverage()}");
    const int width = 62;
    Console.WriteLine($"{"ssh ... true",-width} {"median",9} {"p99",9} {"ratio",8}");
    var baseline = BenchStatistics.Median(directTimes);
    foreach (var (measure, times) in new[] { ("peer: ssh root@VM-IP true (the VM's own sshd)", directTimes), ($"vmps: ssh -p {port} {vmName}@HOST true (the gateway, the agent)", gatewayTimes) })
    {
        var median = BenchStatistics.Median(times);
        Console.WriteLine($"{measure,-width} {median.TotalMilliseconds,7:0.0}ms {BenchStatistics.Percentile(times, 99).TotalMilliseconds,7:0.0}ms {median / baseline,7:0.00}x");
    }

    var ratio = BenchStatistics.Median(gatewayTimes) / baseline;
    Console.WriteLine($"target: gateway <= 1.00x of the direct ssh: {(ratio <= 1.0 ? "met" : "not met")} ({ratio:0.00}x)");
    return 0;
}
finally
{
    await services.SshGateway.StopAsync(cancellationToken);
    if (await services.Vms.FindAsync(vmName, cancellationToken) is not null)
    {
        await services.Vms.RemoveAsync(vmName, force: true, cancellationToken);
    }

    NetworkNamespace.Shared(namespaceName).Dispose();
    await ExternalTool.RunAsync("ip", ["netns", "del", namespaceName], cancellationToken);
    home.Delete(recursive: true);
    scratch.Delete(recursive: true);
}

