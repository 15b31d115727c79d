using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;

// Instance metadata latency (issue 14): inside one busybox VM under QEMU, one exec runs requests.sh, which times
// sequential busybox wget GETs of IMDS's instance-id (v1, and v2 with a token) against the same bytes served as a
// static file by busybox httpd on 127.0.0.1 in the same guest, taking turns; the exec's own round trip is outside
// every figure. A wget to a closed port times what the client process alone costs.
var options = Options.Parse(args);
const string vm = "imds-bench";
var script = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "requests.sh"));
(string Subject, string Label)[] subjects =
[
    ("httpd", "peer: busybox httpd, static file"),
    ("imds-v1", "vmps: IMDS v1 GET instance-id"),
    ("imds-v2", "vmps: IMDS v2 GET instance-id (token)"),
    ("client", "wget to a closed port (the client)"),
];

var work = Directory.CreateTempSubdirectory("vmps-imdsbench-");
var manager = new VmManager(new VmPsPaths(work.FullName));
try
{
    await manager.CreateAsync(new VmCreateOptions { Name = vm, Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
    await manager.StartAsync(vm, new VmStartOptions(), null, CancellationToken.None);
    var clock = await manager.ExecAsync(vm, new VmExecOptions { Command = ["sh", "-c", "cd /sys/devices/system/clocksource/clocksource0 && cat current_clocksource available_clocksource"] }, CancellationToken.None);
    Console.WriteLine($"imds: {options.Runs} requests of each after {options.Warmup} warm-up, QEMU, 1 vCPU, busybox image; load {BenchArguments.LoadAverage()}");
    Console.WriteLine($"guest clock source (current, available): {clock.Stdout.ReplaceLineEndings(" ")}");

    var result = await manager.ExecAsync(
        vm,
        new VmExecOptions { Command = ["sh", "-c", script, "sh", $"{options.Warmup}", $"{options.Runs}"], Timeout = TimeSpan.FromMinutes(30) },
        CancellationToken.None);
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"requests.sh exited with {result.ExitCode}: {result.Stderr}");
    }

    // The guest's only clock source under TCG here is jiffies (HZ=250): each time is a multiple of 4 ms, so the
    // percentiles are that coarse. A request starts at a random phase of the tick, so the mean of the rounded times is
    // an unbiased estimate of the true mean, and the mean ratio is the precise comparison.
    var samples = ParseSamples(result.Stdout);
    var httpd = samples["httpd"];
    var client = Mean(samples["client"]);
    const int width = 38;
    Console.WriteLine($"{"p50",width + 9} {"p99",9} {"mean",9} {"p50",6} {"p99",6} {"mean",6} {"mean-client",12}");
    foreach (var (subject, label) in subjects)
    {
        var times = samples[subject];
        var p50 = BenchStatistics.Median(times);
        var p99 = BenchStatistics.Percentile(times, 99);
        var net = subject == "client" ? "" : $"{(Mean(times) - client) / (Mean(httpd) - client),11:0.00}x";
        Console.WriteLine(
            $"{label,-width} {Ms(p50),9} {Ms(p99),9} {Ms(Mean(times)),9} {p50 / BenchStatistics.Median(httpd),5:0.00}x " +
            $"{p99 / BenchStatistics.Percentile(httpd, 99),5:0.00}x {Mean(times) / Mean(httpd),5:0.00}x {net}");
    }

    Console.WriteLine("target: IMDS p50 and p99 <= 1.5x httpd's; the last column compares the means less the client's own");
    Console.WriteLine($"load at the end: {BenchArguments.LoadAverage()}");
}
finally
{
    foreach (var info in await manager.GetAllAsync(CancellationToken.None))
    {
        await manager.RemoveAsync(info.Name, force: true, CancellationToken.None);
    }

    work.Delete(recursive: true);
}

static TimeSpan Mean(List<TimeSpan> times) => TimeSpan.FromTicks((long)times.Average(time => time.Ticks));

static string Ms(TimeSpan time) => $"{time.TotalMilliseconds:0.00}ms";

// Lines "SUBJECT START END" with $EPOCHREALTIME's SECONDS.MICROSECONDS.
Dictionary<string, List<TimeSpan>> ParseSamples(string stdout)
{
    var samples = subjects.ToDictionary(subject => subject.Subject, _ => new List<TimeSpan>());
    foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
    {
        var fields = line.Split(' ');
        samples[fields[0]].Add(TimeSpan.FromMicroseconds(Microseconds(fields[2]) - Microseconds(fields[1])));
    }

    return samples;
}

static long Microseconds(string epochRealTime) =>
    long.Parse(epochRealTime.Replace(".", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture);

/// <param name="Warmup">Untimed rounds first.</param>
/// <param name="Runs">Timed requests of each subject.</param>
internal sealed record Options(int Warmup, int Runs)
{
    public static Options Parse(string[] args)
    {
        var counts = BenchArguments.ParseCounts(args, new Dictionary<string, int> { ["--runs"] = 200, ["--warmup"] = 10 });
        return new Options(counts["--warmup"], counts["--runs"]);
    }
}
