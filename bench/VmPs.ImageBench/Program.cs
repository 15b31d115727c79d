using VmPs.Bench.Shared;
using System.Diagnostics;
using System.Globalization;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.ImageBench;

// Pull + convert of a Debian minbase image from a local registry: VmPs (cold and warm cache) against
// skopeo copy + umoci unpack + mkfs.erofs -zlz4 on the same image.
const string repository = "bench/debian";
const string tag = "bookworm-minbase";
var runs = args.Length > 1 && args[0] == "--runs" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
var token = cancellation.Token;

var layer = await MinbaseLayer.GetAsync(token);
var work = Directory.CreateTempSubdirectory("vmps-imagebench-");
try
{
    await using var registry = await LocalRegistry.StartAsync(Directory.CreateDirectory(Path.Combine(work.FullName, "registry")).FullName, token);
    await ImagePusher.PushAsync(registry.BaseAddress, repository, tag, layer, token);
    var reference = $"127.0.0.1:{registry.Port}/{repository}:{tag}";
    Console.WriteLine($"image pull + convert: {runs} runs, {reference}, one {new FileInfo(layer).Length / 1048576.0:0.0} MB gzip layer");

    var peer = new List<TimeSpan>();
    var cold = new List<TimeSpan>();
    var warm = new List<TimeSpan>();
    for (var run = 1; run <= runs; run++)
    {
        peer.Add(await PeerPipelineAsync(reference, Path.Combine(work.FullName, $"peer-{run}"), token));

        var paths = new VmPsPaths(Path.Combine(work.FullName, $"home-{run}"));
        cold.Add(await TimeAsync(() => AddAsync(paths, reference, token)));
        warm.Add(await TimeAsync(() => AddAsync(paths, reference, token)));
        Directory.Delete(paths.Root, recursive: true);
    }

    var peerMedian = BenchStatistics.Median(peer);
    Console.WriteLine();
    Console.WriteLine($"{"measure",-58} {"median",9} {"ratio",8}");
    BenchStatistics.Report("peer: skopeo copy + umoci unpack + mkfs.erofs -zlz4", peerMedian, peerMedian, 58);
    BenchStatistics.Report("vmps: New-VmImage, cold cache", BenchStatistics.Median(cold), peerMedian, 58);
    BenchStatistics.Report("vmps: New-VmImage, warm (image already added)", BenchStatistics.Median(warm), peerMedian, 58);
    var coldRatio = BenchStatistics.Median(cold) / peerMedian;
    Console.WriteLine();
    Console.WriteLine($"cold ratio {coldRatio:0.00}x (target <= 0.80x): {(coldRatio <= 0.80 ? "met" : "NOT met")}");
    Console.WriteLine($"warm {BenchStatistics.Median(warm).TotalSeconds:0.000}s (target < 1 s): {(BenchStatistics.Median(warm) < TimeSpan.FromSeconds(1) ? "met" : "NOT met")}");
}
finally
{
    work.Delete(recursive: true);
}

static Task<ImageInfo> AddAsync(VmPsPaths paths, string reference, CancellationToken cancellationToken) =>
    new ImageManager(paths).AddAsync(
        new RegistryImageSource(ImageReference.Parse(reference), null, OciPlatform.Default, insecure: false),
        new ImageAddOptions { Name = "debian" },
        null,
        cancellationToken);

static async Task<TimeSpan> PeerPipelineAsync(string reference, string directory, CancellationToken cancellationToken)
{
    Directory.CreateDirectory(directory);
    var layout = $"{Path.Combine(directory, "layout")}:bench";
    var bundle = Path.Combine(directory, "bundle");
    var elapsed = await TimeAsync(async () =>
    {
        await ExternalTool.RunCheckedAsync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", $"docker://{reference}", $"oci:{layout}"], cancellationToken);
        await ExternalTool.RunCheckedAsync("umoci", ["unpack", "--image", layout, bundle], cancellationToken);
        await ExternalTool.RunCheckedAsync("mkfs.erofs", ["-zlz4", Path.Combine(directory, "rootfs.erofs"), Path.Combine(bundle, "rootfs")], cancellationToken);
    });
    Directory.Delete(directory, recursive: true);
    return elapsed;
}

static async Task<TimeSpan> TimeAsync(Func<Task> action)
{
    var stopwatch = Stopwatch.StartNew();
    await action();
    return stopwatch.Elapsed;
}
