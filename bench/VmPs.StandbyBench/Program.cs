using System.Diagnostics;
using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;

// Standby (issue 13): Start-Vm of a Saved VM against a cold Start-Vm, both to agent ready, and Save-Vm itself, on one
// busybox VM of 512 MiB under QEMU. Cold starts and restores alternate so that both see the same load.
var runs = args is ["--runs", var count] ? int.Parse(count, CultureInfo.InvariantCulture) : 7;
const string vm = "standby-bench";
const int memoryMiB = 512;

var work = Directory.CreateTempSubdirectory("vmps-standbybench-");
var manager = new VmManager(new VmPsPaths(work.FullName));
var cold = new List<TimeSpan>();
var restore = new List<TimeSpan>();
var save = new List<TimeSpan>();
long stateBytes = 0;
try
{
    await manager.CreateAsync(new VmCreateOptions { Name = vm, Image = "busybox", MemoryMiB = memoryMiB, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
    Console.WriteLine($"standby: {runs} runs, QEMU, 1 vCPU, {memoryMiB} MiB, busybox image");

    // Warm-up: builds the busybox image, the initrd and the host probe cache once.
    await ColdStartAsync();
    await manager.StopAsync(vm, new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);

    for (var run = 1; run <= runs; run++)
    {
        cold.Add(await ColdStartAsync());
        save.Add(await TimeAsync(() => manager.SaveAsync(vm, CancellationToken.None)));
        stateBytes = Directory.EnumerateFiles(Path.Combine((await manager.GetAsync(vm, CancellationToken.None)).Directory, "saved")).Sum(file => new FileInfo(file).Length);
        restore.Add(await TimeAsync(() => manager.StartAsync(vm, new VmStartOptions(), null, CancellationToken.None)));
        await RequireExecAsync();
        await manager.StopAsync(vm, new VmStopOptions { Method = VmStopMethod.TurnOff }, CancellationToken.None);
    }

    const int width = 34;
    Console.WriteLine($"{"median".PadLeft(width + 9)} {"ratio",8}");
    var baseline = BenchStatistics.Median(cold);
    BenchStatistics.Report("cold Start-Vm to agent ready", baseline, baseline, width);
    BenchStatistics.Report("Start-Vm from Saved to agent ready", BenchStatistics.Median(restore), baseline, width);
    Console.WriteLine($"{"Save-Vm".PadRight(width)} {BenchStatistics.Median(save).TotalSeconds,8:0.000}s   (saved state {stateBytes / (1024.0 * 1024):0.0} MiB)");
    Console.WriteLine("target: Start-Vm from Saved <= 0.25x of a cold start");
}
finally
{
    await manager.RemoveAsync(vm, force: true, CancellationToken.None);
    work.Delete(recursive: true);
}

async Task<TimeSpan> ColdStartAsync()
{
    var time = await TimeAsync(() => manager.StartAsync(vm, new VmStartOptions(), null, CancellationToken.None));
    await RequireExecAsync();
    return time;
}

async Task RequireExecAsync()
{
    var result = await manager.ExecAsync(vm, new VmExecOptions { Command = ["true"] }, CancellationToken.None);
    if (result.ExitCode != 0)
    {
        throw new InvalidOperationException($"'true' exited with {result.ExitCode}: {result.Stderr}");
    }
}

static async Task<TimeSpan> TimeAsync(Func<Task> operation)
{
    var stopwatch = Stopwatch.StartNew();
    await operation();
    return stopwatch.Elapsed;
}
