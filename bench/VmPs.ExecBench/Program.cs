using System.Diagnostics;
using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.ExecBench;

// Exec round trip and file copy throughput into one Debian VM (QEMU), VmPs's agent against OpenSSH over the VM's
// network, inside a network namespace of the benchmark's own. Alternating runs, after warm-ups.
var options = BenchOptions.Parse(args);
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("The exec benchmark needs root (it creates a namespace, a bridge and a TAP, and boots a VM).");
    return 1;
}

var cancellationToken = CancellationToken.None;
var archive = await SshImage.GetArchiveAsync(cancellationToken);
var namespaceName = $"vmpsbench-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..4])}";
var home = Directory.CreateTempSubdirectory("vmps-execbench-");
var scratch = Directory.CreateTempSubdirectory("vmps-execbench-files-");
await ExternalTool.RunCheckedAsync("ip", ["netns", "add", namespaceName], cancellationToken);
Environment.SetEnvironmentVariable(NetworkNamespace.EnvironmentVariable, namespaceName);
var manager = new VmManager(new VmPsPaths(home.FullName));
const string vmName = "sshbench";
try
{
    using var networkNamespace = NetworkNamespace.Named(namespaceName);
    await networkNamespace.RunStartedAsync(() => ExternalTool.RunCheckedAsync("ip", ["link", "set", "lo", "up"], cancellationToken), cancellationToken);
    await new ImageManager(new VmPsPaths(home.FullName)).AddAsync(
        new DockerArchiveImageSource(archive, null),
        new ImageAddOptions { Name = "bookworm-ssh", InitMode = ImageInitMode.Exec },
        null,
        cancellationToken);
    await manager.Networks.CreateAsync(new NetworkCreateOptions { Name = "bench", Subnet = "10.203.0.0/24" }, cancellationToken);
    await manager.CreateAsync(
        new VmCreateOptions { Name = vmName, Image = "bookworm-ssh", Network = new VmNetworkOptions { Network = "bench" } },
        cancellationToken);
    await manager.StartAsync(vmName, new VmStartOptions { WaitForAgent = true }, progress: null, cancellationToken);
    var address = (await manager.GetNetworkAdapterAsync(vmName, cancellationToken))!.IPAddress;

    var key = await SshPeer.GenerateKeyAsync(scratch.FullName, cancellationToken);
    await InstallAuthorizedKeyAsync(manager, key + ".pub", cancellationToken);
    var ssh = new SshPeer(networkNamespace, key, address, Path.Combine(scratch.FullName, "control"));
    await ssh.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
    Console.WriteLine($"one VM (QEMU, {Environment.ProcessorCount} host cores) at {address} in namespace {namespaceName}; " +
        $"exec: {options.ExecRuns} runs after {options.Warmups} warm-ups; copy: {options.CopyMiB} MiB, {options.CopyRuns} runs after one warm-up");

    var execTrue = new VmExecOptions { Command = ["true"] };
    var (sshTrue, vmpsTrue) = await AlternateAsync(
        options.ExecRuns,
        options.Warmups,
        () => ssh.TrueAsync(cancellationToken),
        () => RequireSuccessAsync(manager.ExecAsync(vmName, execTrue, cancellationToken)));

    await ssh.StartMasterAsync(cancellationToken);
    List<TimeSpan> sshMuxTrue, heldTrue;
    await using (var client = await manager.ConnectAgentAsync(vmName, cancellationToken))
    {
        (sshMuxTrue, heldTrue) = await AlternateAsync(
            options.ExecRuns,
            options.Warmups,
            () => ssh.MultiplexedTrueAsync(cancellationToken),
            () => RequireSuccessAsync(client.ExecAsync(new AgentExecRequest(["true"]), cancellationToken)));
    }

    await ssh.StopMasterAsync(cancellationToken);

    var payload = Path.Combine(scratch.FullName, "payload.bin");
    await WriteRandomFileAsync(payload, options.CopyMiB * 1024L * 1024L, cancellationToken);
    var back = Path.Combine(scratch.FullName, "back.bin");
    var (scpIn, vmpsIn) = await AlternateAsync(
        options.CopyRuns,
        1,
        () => ssh.CopyToGuestAsync(payload, "/root/scp.bin", cancellationToken),
        () => WithFilesAsync(manager, files => files.CopyToGuestAsync(payload, "/root/vmps.bin", new GuestCopyOptions { Overwrite = true }, null, cancellationToken)));
    var (scpOut, vmpsOut) = await AlternateAsync(
        options.CopyRuns,
        1,
        () => ssh.CopyFromGuestAsync("/root/scp.bin", back, cancellationToken),
        () => WithFilesAsync(manager, files => files.CopyFromGuestAsync("/root/vmps.bin", back, new GuestCopyOptions { Overwrite = true }, null, cancellationToken)));
    await RequireSameContentAsync(payload, back, cancellationToken);

    Console.WriteLine();
    Console.WriteLine($"{"exec `true` round trip",-62} {"median",9} {"p99",9} {"ratio",8}");
    var sshMedian = BenchStatistics.Median(sshTrue);
    ReportRoundTrip("peer: ssh root@VM true (new connection, as users run it)", sshTrue, sshMedian);
    ReportRoundTrip("vmps: VmManager.ExecAsync (what Invoke-VmCommand runs)", vmpsTrue, sshMedian);
    ReportRoundTrip("peer: ssh -S (ControlMaster connection held open)", sshMuxTrue, sshMedian);
    ReportRoundTrip("vmps: AgentClient.ExecAsync (agent connection held open)", heldTrue, sshMedian);
    Console.WriteLine();
    Console.WriteLine($"{"copy " + options.CopyMiB + " MiB",-62} {"median",9} {"MiB/s",9} {"thruput",8}");
    ReportCopy("peer: scp host -> guest", scpIn, scpIn, options.CopyMiB);
    ReportCopy("vmps: AgentFileClient.CopyToGuestAsync (Copy-VmFile -ToVm)", vmpsIn, scpIn, options.CopyMiB);
    ReportCopy("peer: scp guest -> host", scpOut, scpOut, options.CopyMiB);
    ReportCopy("vmps: AgentFileClient.CopyFromGuestAsync (Copy-VmFile -FromVm)", vmpsOut, scpOut, options.CopyMiB);
    Console.WriteLine();
    var roundTripRatio = BenchStatistics.Median(vmpsTrue) / sshMedian;
    Console.WriteLine($"round trip ratio {roundTripRatio:0.00}x (target <= 0.50x): {(roundTripRatio <= 0.5 ? "met" : "NOT met")}");
    foreach (var (direction, peer, vmps) in new[] { ("in", scpIn, vmpsIn), ("out", scpOut, vmpsOut) })
    {
        var throughputRatio = BenchStatistics.Median(peer) / BenchStatistics.Median(vmps);
        Console.WriteLine($"copy {direction} throughput ratio {throughputRatio:0.00}x (target >= 1.50x): {(throughputRatio >= 1.5 ? "met" : "NOT met")}");
    }

    return 0;
}
finally
{
    await manager.RemoveAsync(vmName, force: true, cancellationToken);
    await ExternalTool.RunAsync("ip", ["netns", "del", namespaceName], cancellationToken);
    home.Delete(recursive: true);
    scratch.Delete(recursive: true);
}

static async Task InstallAuthorizedKeyAsync(VmManager manager, string publicKey, CancellationToken cancellationToken)
{
    await RequireSuccessAsync(manager.ExecAsync(vmName, new VmExecOptions { Command = ["mkdir", "-p", "-m", "700", "/root/.ssh"] }, cancellationToken));
    await using var key = File.OpenRead(publicKey);
    await WithFilesAsync(
        manager,
        files => files.WriteAsync("/root/.ssh/authorized_keys", key, new GuestFileWriteOptions { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite }, null, cancellationToken));
}

// Copy-VmFile connects to the agent for each copy: so does the measured call.
static async Task WithFilesAsync<T>(VmManager manager, Func<AgentFileClient, Task<T>> work)
{
    await using var client = await manager.ConnectAgentAsync(vmName, CancellationToken.None);
    await work(new AgentFileClient(client));
}

static async Task RequireSuccessAsync<T>(Task<T> exec)
{
    var exitCode = await exec switch
    {
        VmCommandResult result => result.ExitCode,
        AgentExecResult result => result.ExitCode,
        var other => throw new InvalidOperationException($"unexpected result {other}"),
    };
    if (exitCode != 0)
    {
        throw new InvalidOperationException($"the command exited with {exitCode}");
    }
}

static async Task<(List<TimeSpan> Peer, List<TimeSpan> VmPs)> AlternateAsync(int runs, int warmups, Func<Task> peer, Func<Task> vmps)
{
    var peerTimes = new List<TimeSpan>();
    var vmpsTimes = new List<TimeSpan>();
    for (var run = -warmups; run < runs; run++)
    {
        var peerTime = await TimeAsync(peer);
        var vmpsTime = await TimeAsync(vmps);
        if (run >= 0)
        {
            peerTimes.Add(peerTime);
            vmpsTimes.Add(vmpsTime);
        }
    }

    return (peerTimes, vmpsTimes);
}

static async Task<TimeSpan> TimeAsync(Func<Task> action)
{
    var stopwatch = Stopwatch.StartNew();
    await action();
    return stopwatch.Elapsed;
}

static async Task WriteRandomFileAsync(string path, long size, CancellationToken cancellationToken)
{
    await using var file = File.Create(path);
    var buffer = new byte[1024 * 1024];
    for (long written = 0; written < size; written += buffer.Length)
    {
        Random.Shared.NextBytes(buffer);
        await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - written)), cancellationToken);
    }
}

static async Task RequireSameContentAsync(string expected, string actual, CancellationToken cancellationToken)
{
    var result = await ExternalTool.RunAsync("cmp", ["-s", expected, actual], cancellationToken);
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"{actual} differs from {expected} after the round trip");
    }
}

static void ReportRoundTrip(string measure, List<TimeSpan> times, TimeSpan baseline)
{
    var median = BenchStatistics.Median(times);
    Console.WriteLine($"{measure,-62} {median.TotalMilliseconds,7:0.0}ms {BenchStatistics.Percentile(times, 99).TotalMilliseconds,7:0.0}ms {median / baseline,7:0.00}x");
}

static void ReportCopy(string measure, List<TimeSpan> times, List<TimeSpan> peer, int mebibytes)
{
    var median = BenchStatistics.Median(times);
    Console.WriteLine($"{measure,-62} {median.TotalSeconds,8:0.00}s {mebibytes / median.TotalSeconds,9:0.0} {BenchStatistics.Median(peer) / median,7:0.00}x");
}

namespace VmPs.ExecBench
{
    /// <summary>--runs N (exec runs, 200), --warmups N (5), --copy-mib N (100), --copy-runs N (3).</summary>
    internal sealed record BenchOptions(int ExecRuns, int Warmups, int CopyMiB, int CopyRuns)
    {
        public static BenchOptions Parse(string[] args)
        {
            var values = new Dictionary<string, int> { ["--runs"] = 200, ["--warmups"] = 5, ["--copy-mib"] = 100, ["--copy-runs"] = 3 };
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                if (!values.ContainsKey(args[i]))
                {
                    throw new ArgumentException($"unknown option {args[i]} (known: {string.Join(", ", values.Keys)})");
                }

                values[args[i]] = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }

            return new BenchOptions(values["--runs"], values["--warmups"], values["--copy-mib"], values["--copy-runs"]);
        }
    }
}
