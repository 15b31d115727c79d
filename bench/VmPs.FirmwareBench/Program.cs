using System.Diagnostics;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Logs;
using VmPs.Core.Vms;
using VmPs.Protocol;
using VmPs.Protocol.Logs;
using VmPs.Tests.Infrastructure;

// The firmware's cost (issue 14): one Debian bookworm root, the tests' cached debootstrap root (systemd, cloud-init,
// the cloud kernel), imported twice into a fresh VmPs home: as the UEFI disk image the tests build from it (New-VmImage
// -Path: OVMF, GRUB, the root's own kernel and initramfs, cloud-init starting the agent from the seed disk), and as an
// image whose one layer is the same tar (systemd init mode: the host's kernel booted directly with VmPs's initrd, its
// init handing over to systemd, which runs the agent). Both on QEMU q35 (the machine OVMF needs), 2 vCPUs, 1 GiB, no
// network. Each run creates a VM of each, times Start-Vm until the agent answers, and removes it; the console log is
// watched meanwhile for the lines that mark where the time went.
var runs = BenchArguments.ParseCounts(args, new Dictionary<string, int> { ["--runs"] = 3 })["--runs"];
var startOptions = new VmStartOptions { Timeout = TimeSpan.FromMinutes(20) };

Subject direct = new(
    "debian-root",
    "direct kernel boot, VmPs init, systemd",
    [
        new(ConsoleMarkers.Boot, "host, QEMU and the kernel until VmPs's init"),
        new(null, "VmPs's init and systemd until the agent answers"),
    ]);
Subject firmware = new(
    "debian-disk",
    "disk image: OVMF, GRUB, cloud-init",
    [
        new("Welcome to GRUB", "host, QEMU and OVMF until GRUB"),
        new("Linux version", "GRUB loading the kernel and initramfs"),
        new("Run /init as init process", "the kernel until the initramfs"),
        new("running in system mode", "the initramfs until systemd"),
        new("Starting cloud-init-local", "systemd until it starts cloud-init"),
        new("Cloud-init v.", "cloud-init (Python) until its first line"),
        new(null, "cloud-init until the agent answers"),
    ]);
Subject[] subjects = [direct, firmware];

var work = Directory.CreateTempSubdirectory("vmps-firmwarebench-");
var paths = new VmPsPaths(work.FullName);
var manager = new VmManager(paths);
try
{
    var diskImage = await DebianCloudImage.PathAsync(Console.WriteLine);
    var root = await DebootstrapCache.MinbaseTarAsync("bookworm", DebianCloudImage.Packages, Console.WriteLine);
    var images = new ImageManager(paths);
    await images.AddDiskAsync(new DiskImageAddOptions { Path = diskImage, Name = firmware.Image }, null, CancellationToken.None);
    var archive = Path.Combine(work.FullName, "root-archive.tar");
    await DockerSaveArchive.WriteAsync(root, archive, "bench/debian:root", command: null, CancellationToken.None);
    await images.AddAsync(new DockerArchiveImageSource(archive, null), new ImageAddOptions { Name = direct.Image, InitMode = ImageInitMode.Systemd }, null, CancellationToken.None);
    File.Delete(archive);

    Console.WriteLine($"firmware: {runs} runs, QEMU q35, 2 vCPUs, 1024 MiB, no network; load {BenchArguments.LoadAverage()}");
    var samples = subjects.ToDictionary(subject => subject, _ => new List<Boot>());
    for (var run = 1; run <= runs; run++)
    {
        foreach (var subject in subjects)
        {
            var boot = await BootAsync(subject, $"{subject.Image}-{run}");
            samples[subject].Add(boot);
            Console.WriteLine($"run {run}, {subject.Label}: {boot.AgentReady.TotalSeconds:0.0} s ({boot.Kernel}); load {BenchArguments.LoadAverage()}");
        }
    }

    var width = subjects.SelectMany(subject => subject.Stages.Select(stage => stage.Label).Append(subject.Label)).Max(label => label.Length) + 2;
    var baseline = BenchStatistics.Median(samples[direct].Select(boot => boot.AgentReady));
    Console.WriteLine($"{"Start-Vm to agent ready, median".PadRight(width)}     time   ratio");
    foreach (var subject in subjects)
    {
        BenchStatistics.Report(subject.Label, BenchStatistics.Median(samples[subject].Select(boot => boot.AgentReady)), baseline, width);
    }

    foreach (var subject in subjects)
    {
        Console.WriteLine($"{subject.Label}, where the time went (medians of each stage over the runs whose console showed both its ends):");
        for (var index = 0; index < subject.Stages.Count; index++)
        {
            var times = samples[subject].Select(boot => boot.Stages[index]).OfType<TimeSpan>().ToList();
            var stage = times.Count == 0 ? "   (its lines never showed)" : $"{BenchStatistics.Median(times).TotalSeconds,8:0.000}s  ({times.Count} runs)";
            Console.WriteLine($"  {subject.Stages[index].Label.PadRight(width)} {stage}");
        }

        if (samples[subject].Select(boot => boot.InitUntilSystemd).OfType<TimeSpan>().ToList() is { Count: > 0 } handOvers)
        {
            Console.WriteLine($"  {"of which VmPs's init until systemd".PadRight(width)} {BenchStatistics.Median(handOvers).TotalSeconds,8:0.000}s  (guest clock, {handOvers.Count} runs)");
        }
    }

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

// A new VM of the subject's image, Start-Vm timed until the agent answers while its console log is watched, then removed.
async Task<Boot> BootAsync(Subject subject, string name)
{
    var vm = await manager.CreateAsync(
        new VmCreateOptions { Name = name, Image = subject.Image, Cpus = 2, MemoryMiB = 1024, DiskSizeGiB = 3, MachineType = QemuMachine.Q35 },
        CancellationToken.None);
    using var stopWatching = new CancellationTokenSource();
    var clock = Stopwatch.StartNew();
    var watch = ConsoleWatch.RunAsync(Path.Combine(vm.Directory, "console.log"), subject.Stages, clock, stopWatching.Token);
    var started = await manager.StartAsync(name, startOptions, null, CancellationToken.None);
    var agentReady = clock.Elapsed;
    await stopWatching.CancelAsync();
    var seen = await watch;
    if (started.StatusDetail is { } detail)
    {
        throw new InvalidOperationException($"VM '{name}' started without its agent: {detail}");
    }

    var kernel = (await manager.ExecAsync(name, new VmExecOptions { Command = ["uname", "-r"] }, CancellationToken.None)).Stdout.Trim();
    var handOver = subject == direct ? await InitUntilSystemdAsync(name) : null;
    await manager.RemoveAsync(name, force: true, CancellationToken.None);
    return new Boot(agentReady, kernel, ConsoleWatch.Stages(seen, agentReady), handOver);
}

// From VmPs's init's first record to its hand-over to systemd, on the guest's clock (its init log); null: no hand-over logged.
async Task<TimeSpan?> InitUntilSystemdAsync(string name)
{
    var records = await manager.GetInitLogAsync(name, new VmLogOptions(), CancellationToken.None).ToListAsync();
    return records.FirstOrDefault(record => record.Phase == InitLogPhases.Systemd) is { } systemd ? systemd.Time - records[0].Time : null;
}

/// <summary>One image booted: its stages, each ending at a console line (null: at agent ready), in boot order.</summary>
internal sealed record Subject(string Image, string Label, IReadOnlyList<Stage> Stages);

/// <param name="Marker">The start of the console line that ends the stage; null: the agent answering.</param>
internal sealed record Stage(string? Marker, string Label);

/// <summary>
/// One boot: Start-Vm until the agent answered, the guest's kernel release, each stage's time (null: its lines never
/// showed) and, for VmPs's init, how long it took to hand over to systemd.
/// </summary>
internal sealed record Boot(TimeSpan AgentReady, string Kernel, IReadOnlyList<TimeSpan?> Stages, TimeSpan? InitUntilSystemd);

/// <summary>Polls a VM's console log for the stages' lines, noting when each first shows on <c>clock</c>.</summary>
internal static class ConsoleWatch
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public static async Task<TimeSpan?[]> RunAsync(string consoleLog, IReadOnlyList<Stage> stages, Stopwatch clock, CancellationToken stop)
    {
        var seen = new TimeSpan?[stages.Count];
        while (!stop.IsCancellationRequested)
        {
            var text = Read(consoleLog);
            for (var index = 0; index < stages.Count; index++)
            {
                if (seen[index] is null && stages[index].Marker is { } marker && text.Contains(marker, StringComparison.Ordinal))
                {
                    seen[index] = clock.Elapsed;
                }
            }

            try
            {
                await Task.Delay(PollInterval, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return seen;
    }

    /// <summary>
    /// Each stage's time: from the end of the one before (Start-Vm's call for the first) to its line, the last to agent
    /// ready; null when either line never showed.
    /// </summary>
    public static IReadOnlyList<TimeSpan?> Stages(TimeSpan?[] seen, TimeSpan agentReady)
    {
        var ends = seen.Select((time, index) => index == seen.Length - 1 ? agentReady : time).ToArray();
        return [.. ends.Select((end, index) => end is { } to && (index == 0 ? TimeSpan.Zero : ends[index - 1]) is { } from ? to - from : (TimeSpan?)null)];
    }

    private static string Read(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(file);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "";
        }
    }
}
