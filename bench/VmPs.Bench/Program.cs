using System.Globalization;
using VmPs.Bench;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Kernels;
using VmPs.Core.Vms;
using VmPs.Protocol.Logs;

var runs = 7;
string? vmpsKernelPath = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--runs":
            runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--vmps-kernel":
            vmpsKernelPath = Path.GetFullPath(args[i + 1]);
            break;
        default:
            throw new ArgumentException($"Unknown option {args[i]}: use --runs N and --vmps-kernel PATH (a bzImage or vmlinux of a VmPs kernel cache entry).");
    }
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
var token = cancellation.Token;

var vmpsKernel = (vmpsKernelPath is null ? new KernelCache(VmPsPaths.Default()).Current : KernelCache.Describe(vmpsKernelPath))
    ?? throw new InvalidOperationException("No VmPs kernel: build it (Build-VmKernel, or ./build.ps1 -Task Kernel) or pass --vmps-kernel PATH.");
var work = Directory.CreateTempSubdirectory("vmps-bench-");
try
{
    var paths = new VmPsPaths(Path.Combine(work.FullName, "home"));
    var host = await HostProbe.ProbeAsync(paths, token);
    var distro = host.DistroKernel ?? throw new InvalidOperationException("No distro kernel: install linux-image-cloud-amd64.");
    Console.WriteLine($"boot to agent: {runs} runs, QEMU microvm ({host.QemuAccelerator}), 1 vCPU, 512 MiB, busybox image");
    Console.WriteLine($"  distro kernel {distro.Version}: {distro.Path} (bzImage, modules from {distro.ModulesDirectory})");
    Console.WriteLine($"  VmPs kernel {vmpsKernel.Release}: {vmpsKernel.VmlinuxPath} (PVH direct boot, no modules)");

    var manager = new VmManager(paths);
    var kernels = new[] { (Name: "distro", Kernel: distro), (Name: "vmps", Kernel: vmpsKernel.ToKernelInfo()) }
        .Select(kernel => new KernelRun(
            kernel.Name,
            new ShellInitBaseline(host, kernel.Kernel, Directory.CreateDirectory(Path.Combine(work.FullName, kernel.Name)).FullName),
            new BootToAgentBenchmark(manager, $"bench-{kernel.Name}", kernel.Kernel.Path)))
        .ToList();
    foreach (var kernel in kernels)
    {
        await kernel.Baseline.MeasureAsync(0, token);
        await kernel.Vmps.PrepareAsync(token);
    }

    // Runs alternate between the peer and VmPs, and between the kernels, so that all see the same load on a shared machine.
    try
    {
        for (var run = 1; run <= runs; run++)
        {
            foreach (var kernel in kernels)
            {
                kernel.BaselineTimes.Add(await kernel.Baseline.MeasureAsync(run, token));
                kernel.Samples.Add(await kernel.Vmps.MeasureAsync(token));
            }
        }
    }
    finally
    {
        foreach (var kernel in kernels)
        {
            await kernel.Vmps.CleanUpAsync(CancellationToken.None);
        }
    }

    BootReport.Print(kernels[0], kernels[1]);
}
finally
{
    work.Delete(recursive: true);
}

/// <summary>The measurements of one kernel.</summary>
internal sealed record KernelRun(string Name, ShellInitBaseline Baseline, BootToAgentBenchmark Vmps)
{
    public List<TimeSpan> BaselineTimes { get; } = [];

    public List<VmPsBootSample> Samples { get; } = [];

    public TimeSpan Marker => BenchStatistics.Median(BaselineTimes);

    public TimeSpan AgentReady => BenchStatistics.Median(Samples.Select(sample => sample.AgentReady));

    public TimeSpan FirstExec => BenchStatistics.Median(Samples.Select(sample => sample.FirstExecResult));
}

/// <summary>The medians, the targets of issue 16 and the breakdown of where the time goes.</summary>
internal static class BootReport
{
    private const int Width = 46;

    private static readonly string[] Phases =
        [InitLogPhases.Boot, InitLogPhases.Modules, InitLogPhases.Config, InitLogPhases.Disks, InitLogPhases.Rootfs, InitLogPhases.Agent];

    public static void Print(KernelRun distro, KernelRun vmps)
    {
        Console.WriteLine();
        Console.WriteLine($"{"median",-Width} {"distro kernel",15} {"VmPs kernel",15}");
        Row("peer: busybox shell /init prints a marker", distro.Marker, vmps.Marker);
        Row("vmps: Start-Vm to agent ready", distro.AgentReady, vmps.AgentReady, distro.Marker, vmps.Marker);
        Row("vmps: Start-Vm to first exec result", distro.FirstExec, vmps.FirstExec, distro.Marker, vmps.Marker);

        Console.WriteLine();
        Console.WriteLine("targets");
        Verdict("agent ready / shell marker, distro kernel", distro.AgentReady / distro.Marker, 1.10);
        Verdict("agent ready / shell marker, VmPs kernel", vmps.AgentReady / vmps.Marker, 1.10);
        Verdict("agent ready, VmPs kernel / distro kernel", vmps.AgentReady / distro.AgentReady, 0.40);

        Console.WriteLine();
        Console.WriteLine("where the time goes (medians; the kernel and init rows by the guest's clock)");
        Console.WriteLine($"{"",-Width} {"distro kernel",15} {"VmPs kernel",15}");
        Row("kernel: start until the init runs", Median(distro, b => b.KernelToInit), Median(vmps, b => b.KernelToInit));
        foreach (var phase in Phases)
        {
            Row($"init: {phase}", Median(distro, b => b.InitPhases.GetValueOrDefault(phase)), Median(vmps, b => b.InitPhases.GetValueOrDefault(phase)));
        }

        Row("guest uptime at agent ready", Median(distro, b => b.GuestAgentReady), Median(vmps, b => b.GuestAgentReady));
        Row("init: set-up after agent ready (execs wait)", Median(distro, b => b.SetUpAfterReady), Median(vmps, b => b.SetUpAfterReady));
        Row("host: Start-Vm until it launches QEMU", SampleMedian(distro, s => s.Launching), SampleMedian(vmps, s => s.Launching));
        Row("host: QEMU launch until QMP answers", SampleMedian(distro, s => s.QemuRunning - s.Launching), SampleMedian(vmps, s => s.QemuRunning - s.Launching));
        Row("host: rest (QEMU start, noticing the agent)", HostPart(distro), HostPart(vmps));
        Row("first exec after agent ready", distro.FirstExec - distro.AgentReady, vmps.FirstExec - vmps.AgentReady);
        Row("shell marker (for comparison)", distro.Marker, vmps.Marker);
    }

    /// <summary>From QEMU's launch to agent ready, minus the guest's uptime then: QEMU's start and kernel loading before the guest clock runs, and the host noticing the agent.</summary>
    private static TimeSpan HostPart(KernelRun run) => Median(run, (sample, breakdown) => sample.AgentReady - sample.Launching - breakdown.GuestAgentReady);

    private static TimeSpan SampleMedian(KernelRun run, Func<VmPsBootSample, TimeSpan> select) => BenchStatistics.Median(run.Samples.Select(select));

    private static TimeSpan Median(KernelRun run, Func<BootBreakdown, TimeSpan> select) => Median(run, (_, breakdown) => select(breakdown));

    /// <summary>Over the boots whose console and init log had the markers (zero when none had).</summary>
    private static TimeSpan Median(KernelRun run, Func<VmPsBootSample, BootBreakdown, TimeSpan> select)
    {
        var values = run.Samples.Where(sample => sample.Breakdown is not null).Select(sample => select(sample, sample.Breakdown!)).ToList();
        return values.Count > 0 ? BenchStatistics.Median(values) : TimeSpan.Zero;
    }

    private static void Row(string measure, TimeSpan distro, TimeSpan vmps, TimeSpan? distroBase = null, TimeSpan? vmpsBase = null)
    {
        static string Cell(TimeSpan value, TimeSpan? baseline) =>
            baseline is { } b ? $"{value.TotalSeconds:0.000}s {value / b,4:0.00}x" : $"{value.TotalSeconds:0.000}s";
        Console.WriteLine($"{measure,-Width} {Cell(distro, distroBase),15} {Cell(vmps, vmpsBase),15}");
    }

    private static void Verdict(string what, double ratio, double target) =>
        Console.WriteLine($"  {what,-44} {ratio,5:0.00}x (target <= {target:0.00}x): {(ratio <= target ? "met" : "NOT met")}");
}
