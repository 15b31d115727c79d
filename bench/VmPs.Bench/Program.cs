using VmPs.Bench.Shared;
using System.Globalization;
using VmPs.Bench;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Vms;

var runs = args.Length > 1 && args[0] == "--runs" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
var token = cancellation.Token;

var work = Directory.CreateTempSubdirectory("vmps-bench-");
try
{
    var paths = new VmPsPaths(Path.Combine(work.FullName, "home"));
    var host = await HostProbe.ProbeAsync(paths, token);
    var kernel = host.DefaultKernel ?? throw new InvalidOperationException("No default kernel: install linux-image-cloud-amd64.");
    Console.WriteLine($"boot to agent: {runs} runs, QEMU ({host.QemuAccelerator}), kernel {kernel.Version}, 1 vCPU, 512 MiB");

    var baseline = new ShellInitBaseline(host, kernel, work.FullName);
    var manager = new VmManager(paths);
    var vmps = new BootToAgentBenchmark(manager, "bench");
    await baseline.MeasureAsync(0, token);
    await vmps.PrepareAsync(token);

    // Runs alternate between the peer and VmPs so that both see the same load on a shared machine.
    var baselineTimes = new List<TimeSpan>();
    var samples = new List<VmPsBootSample>();
    try
    {
        for (var run = 1; run <= runs; run++)
        {
            baselineTimes.Add(await baseline.MeasureAsync(run, token));
            samples.Add(await vmps.MeasureAsync(token));
        }
    }
    finally
    {
        await vmps.CleanUpAsync(CancellationToken.None);
    }

    var baselineMedian = BenchStatistics.Median(baselineTimes);
    var agentMedian = BenchStatistics.Median(samples.Select(s => s.AgentReady));
    var execMedian = BenchStatistics.Median(samples.Select(s => s.FirstExecResult));
    Console.WriteLine();
    Console.WriteLine($"{"measure",-46} {"median",9} {"ratio",8}");
    BenchStatistics.Report("peer: busybox shell /init prints a marker", baselineMedian, baselineMedian, 46);
    BenchStatistics.Report("vmps: Start-Vm to agent ready", agentMedian, baselineMedian, 46);
    BenchStatistics.Report("vmps: Start-Vm to first exec result", execMedian, baselineMedian, 46);
    var ratio = agentMedian / baselineMedian;
    Console.WriteLine();
    Console.WriteLine($"agent-ready ratio {ratio:0.00}x (target <= 1.10x): {(ratio <= 1.10 ? "met" : "NOT met")}");
}
finally
{
    work.Delete(recursive: true);
}
