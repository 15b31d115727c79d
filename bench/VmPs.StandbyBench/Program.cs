using System.Diagnostics;
using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;

// Standby and forks (issue 13), on busybox VMs of 512 MiB under QEMU: Start-Vm of a Saved VM and a fork (New-Vm
// -FromCheckpoint + Start-Vm) against a cold Start-Vm, all to agent ready, and Save-Vm itself; cold starts, restores
// and forks alternate so that all see the same load. Then the host memory of ten forks of one checkpoint against ten
// cold-booted VMs: the sum of the QEMU processes' PSS, which counts a page that several processes map once in all.
var options = Options.Parse(args);
const string vm = "standby-bench";
const string checkpoint = "cp";
const int memoryMiB = 512;

var work = Directory.CreateTempSubdirectory("vmps-standbybench-");
var manager = new VmManager(new VmPsPaths(work.FullName));
var cold = new List<TimeSpan>();
var restore = new List<TimeSpan>();
var save = new List<TimeSpan>();
var fork = new List<TimeSpan>();
long stateBytes = 0;
try
{
    await manager.CreateAsync(Create(vm), CancellationToken.None);
    Console.WriteLine($"standby: {options.Runs} runs, {options.Fleet} VMs for memory, QEMU, 1 vCPU, {memoryMiB} MiB, busybox image; load {BenchArguments.LoadAverage()}");

    // Warm-up: builds the busybox image, the initrd and the host probe cache once; the booted VM is checkpointed for the forks.
    await ColdStartAsync(vm);
    await manager.CheckpointAsync(vm, checkpoint, CancellationToken.None);
    await TurnOffAsync(vm);

    for (var run = 1; run <= options.Runs; run++)
    {
        cold.Add(await ColdStartAsync(vm));
        save.Add(await TimeAsync(() => manager.SaveAsync(vm, CancellationToken.None)));
        stateBytes = await DiskUsageAsync(Path.Combine((await manager.GetAsync(vm, CancellationToken.None)).Directory, "saved"));
        restore.Add(await TimeAsync(() => manager.StartAsync(vm, new VmStartOptions(), null, CancellationToken.None)));
        await RequireExecAsync(vm);
        await TurnOffAsync(vm);
        fork.Add(await ForkAsync($"fork{run}"));
        await manager.RemoveAsync($"fork{run}", force: true, CancellationToken.None);
    }

    var coldMemory = await FleetMemoryAsync(name => ColdStartAsync(name, create: true));
    var forkMemory = await FleetMemoryAsync(ForkAsync);

    const int width = 40;
    Console.WriteLine($"{"median".PadLeft(width + 9)} {"ratio",8}");
    var baseline = BenchStatistics.Median(cold);
    BenchStatistics.Report("cold Start-Vm to agent ready", baseline, baseline, width);
    BenchStatistics.Report("Start-Vm from Saved to agent ready", BenchStatistics.Median(restore), baseline, width);
    BenchStatistics.Report("fork (New-Vm -FromCheckpoint + Start)", BenchStatistics.Median(fork), baseline, width);
    Console.WriteLine($"{"Save-Vm".PadRight(width)} {BenchStatistics.Median(save).TotalSeconds,8:0.000}s   (saved state {stateBytes / (1024.0 * 1024):0.0} MiB on disk)");
    Console.WriteLine($"{"host memory, " + options.Fleet + " cold VMs (PSS)",-width} {coldMemory,8:0} MiB {1,7:0.00}x");
    Console.WriteLine($"{"host memory, " + options.Fleet + " forks of one checkpoint",-width} {forkMemory,8:0} MiB {forkMemory / coldMemory,7:0.00}x");
    Console.WriteLine("targets: Start-Vm from Saved <= 0.25x, a fork <= 0.15x of a cold start; forks' memory <= 0.5x of cold VMs'");
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

// The blocks the files take (du), not their lengths: QEMU's memory.ram is as long as the guest's memory and mostly holes.
static async Task<long> DiskUsageAsync(string directory)
{
    using var du = Process.Start(new ProcessStartInfo("du", ["--summarize", "--block-size=1", directory]) { RedirectStandardOutput = true })!;
    var output = await du.StandardOutput.ReadToEndAsync();
    await du.WaitForExitAsync();
    return long.Parse(output.Split('\t')[0], CultureInfo.InvariantCulture);
}

VmCreateOptions Create(string name) => new() { Name = name, Image = "busybox", MemoryMiB = memoryMiB, Hypervisor = HypervisorKind.Qemu };

async Task<TimeSpan> ColdStartAsync(string name, bool create = false)
{
    if (create)
    {
        await manager.CreateAsync(Create(name), CancellationToken.None);
    }

    var time = await TimeAsync(() => manager.StartAsync(name, new VmStartOptions(), null, CancellationToken.None));
    await RequireExecAsync(name);
    return time;
}

async Task<TimeSpan> ForkAsync(string name)
{
    var time = await TimeAsync(async () =>
    {
        await manager.ForkAsync(vm, checkpoint, name, CancellationToken.None);
        await manager.StartAsync(name, new VmStartOptions(), null, CancellationToken.None);
    });
    await RequireExecAsync(name);
    return time;
}

// Boots options.Fleet VMs one after another, lets them settle, sums their QEMU processes' PSS in MiB and removes them.
async Task<double> FleetMemoryAsync(Func<string, Task<TimeSpan>> boot)
{
    var names = Enumerable.Range(1, options.Fleet).Select(index => $"fleet{index}").ToList();
    foreach (var name in names)
    {
        await boot(name);
    }

    await Task.Delay(TimeSpan.FromSeconds(5));
    long kib = 0;
    foreach (var name in names)
    {
        await RequireExecAsync(name);
        var pid = (await manager.GetAsync(name, CancellationToken.None)).ProcessId;
        kib += File.ReadLines($"/proc/{pid}/smaps_rollup")
            .Where(line => line.StartsWith("Pss:", StringComparison.Ordinal))
            .Sum(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
    }

    foreach (var name in names)
    {
        await manager.RemoveAsync(name, force: true, CancellationToken.None);
    }

    return kib / 1024.0;
}

Task TurnOffAsync(string name) => manager.StopAsync(name, new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);

async Task RequireExecAsync(string name)
{
    var result = await manager.ExecAsync(name, new VmExecOptions { Command = ["true"] }, CancellationToken.None);
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"'true' exited with {result.ExitCode} in {name}: {result.Stderr}");
    }
}

static async Task<TimeSpan> TimeAsync(Func<Task> operation)
{
    var stopwatch = Stopwatch.StartNew();
    await operation();
    return stopwatch.Elapsed;
}

/// <param name="Runs">Timed runs of each start.</param>
/// <param name="Fleet">VMs booted at once for the memory comparison.</param>
internal sealed record Options(int Runs, int Fleet)
{
    public static Options Parse(string[] args)
    {
        var counts = BenchArguments.ParseCounts(args, new Dictionary<string, int> { ["--runs"] = 7, ["--fleet"] = 10 });
        return new Options(counts["--runs"], counts["--fleet"]);
    }
}
