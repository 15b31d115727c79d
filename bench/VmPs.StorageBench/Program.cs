using System.Diagnostics;
using System.Globalization;
using VmPs.Bench.Shared;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

// Storage (issue 12): Copy-VmVolume of a 1 GiB volume holding 200 MiB against `cp --sparse=always` of the same file,
// and a sequential write (200 MiB, fsync; buffered and O_DIRECT) inside a QEMU guest to a volume against the same dd on
// the host.
var runs = args is ["--runs", var count] ? int.Parse(count, CultureInfo.InvariantCulture) : 5;
const long bytesPerMiB = 1024 * 1024;
const int writtenMiB = 200;

var work = Directory.CreateTempSubdirectory("vmps-storagebench-");
var manager = new VmManager(new VmPsPaths(work.FullName));
var volumes = manager.Volumes;
try
{
    // The volume: 1 GiB raw, its first 200 MiB written with random data on the host.
    var source = await volumes.CreateAsync(new VolumeCreateOptions { Name = "source", SizeBytes = 1024 * bytesPerMiB, Format = VolumeFormat.Raw }, CancellationToken.None);
    await using (var file = new FileStream(source.Path, FileMode.Open, FileAccess.Write))
    {
        var chunk = new byte[bytesPerMiB];
        for (var written = 0; written < writtenMiB; written++)
        {
            Random.Shared.NextBytes(chunk);
            await file.WriteAsync(chunk);
        }
    }

    var original = Path.Combine(work.FullName, "original.img");
    await ExternalTool.RunCheckedAsync("cp", ["--sparse=always", source.Path, original], CancellationToken.None);
    var peer = new List<TimeSpan>();
    var copies = new List<TimeSpan>();
    long copyAllocated = 0;
    var method = CopyMethod.FullCopy;
    for (var run = 1; run <= runs; run++)
    {
        var target = Path.Combine(work.FullName, $"peer-{run}.img");
        peer.Add(await TimeAsync(() => ExternalTool.RunCheckedAsync("cp", ["--sparse=always", original, target], CancellationToken.None)));
        File.Delete(target);
        VolumeCopyResult? copy = null;
        copies.Add(await TimeAsync(async () => copy = await volumes.CopyAsync("source", $"copy-{run}", CancellationToken.None)));
        copyAllocated = copy!.Volume.AllocatedBytes;
        method = copy.Method;
    }

    const int width = 40;
    Console.WriteLine($"storage: {runs} runs; a 1 GiB volume with {writtenMiB} MiB written");
    Console.WriteLine($"{"median".PadLeft(width + 9)} {"ratio",8}");
    var baseline = BenchStatistics.Median(peer);
    BenchStatistics.Report("peer: cp --sparse=always", baseline, baseline, width);
    BenchStatistics.Report($"Copy-VmVolume ({method})", BenchStatistics.Median(copies), baseline, width);
    Console.WriteLine($"the copy allocates {copyAllocated / (double)bytesPerMiB:0.0} MiB; target: Copy-VmVolume <= 0.1x of cp");

    // Sequential write: dd of 200 MiB with fsync, in the guest to an ext4 volume, and on the host to its file system;
    // once through the page cache and once with O_DIRECT (the volume's own path, without TCG running the guest
    // kernel's page cache code for every 4 KiB).
    await volumes.CreateAsync(new VolumeCreateOptions { Name = "scratch", SizeBytes = 1024 * bytesPerMiB }, CancellationToken.None);
    await manager.CreateAsync(
        new VmCreateOptions { Name = "storage-bench", Image = "busybox", MemoryMiB = 512, Hypervisor = HypervisorKind.Qemu, Volumes = [new VolumeAttachOptions("scratch", "/data")] },
        CancellationToken.None);
    await manager.StartAsync("storage-bench", new VmStartOptions { Timeout = TimeSpan.FromMinutes(5) }, null, CancellationToken.None);
    var hostFile = Path.Combine(work.FullName, "dd.out");
    foreach (var (label, flags) in new[] { ("buffered", new[] { "conv=fsync" }), ("O_DIRECT", new[] { "oflag=direct", "conv=fsync" }) })
    {
        var dd = new[] { "if=/dev/zero", "bs=1M", $"count={writtenMiB}" }.Concat(flags).ToArray();
        var guest = new List<TimeSpan>();
        var host = new List<TimeSpan>();
        for (var run = 1; run <= runs; run++)
        {
            var idle = await GuestAsync("true");
            guest.Add(await GuestAsync($"dd of=/data/dd.out {string.Join(' ', dd)} 2>/dev/null && rm /data/dd.out") - idle);
            host.Add(await TimeAsync(() => ExternalTool.RunCheckedAsync("dd", [$"of={hostFile}", .. dd], CancellationToken.None)));
            File.Delete(hostFile);
        }

        var hostMedian = BenchStatistics.Median(host);
        var guestMedian = BenchStatistics.Median(guest);
        Console.WriteLine($"{$"host dd ({writtenMiB} MiB, {label})".PadRight(width)} {writtenMiB / hostMedian.TotalSeconds,8:0.0} MiB/s");
        Console.WriteLine($"{$"guest dd to a volume ({label})".PadRight(width)} {writtenMiB / guestMedian.TotalSeconds,8:0.0} MiB/s   {hostMedian / guestMedian,6:0.00}x of the host");
    }

    Console.WriteLine("target: guest >= 0.5x of the host under TCG");
}
finally
{
    foreach (var vm in await manager.GetAllAsync(CancellationToken.None))
    {
        await manager.RemoveAsync(vm.Name, force: true, CancellationToken.None);
    }

    work.Delete(recursive: true);
}

async Task<TimeSpan> GuestAsync(string script)
{
    var result = await manager.ExecAsync("storage-bench", new VmExecOptions { Command = ["sh", "-c", script], Timeout = TimeSpan.FromMinutes(5) }, CancellationToken.None);
    return result.ExitCode == 0 ? result.Duration : throw new InvalidOperationException($"'{script}' exited with {result.ExitCode}: {result.Stderr}");
}

static async Task<TimeSpan> TimeAsync(Func<Task> operation)
{
    var stopwatch = Stopwatch.StartNew();
    await operation();
    return stopwatch.Elapsed;
}
