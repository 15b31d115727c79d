using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Processes;
using VmPs.Tests.Protocol.Archives;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// Hostile images added the way New-VmImage -Path adds a docker archive, each in a child process capped at a 768 MiB
/// GC heap (so a regression cannot take the machine's memory) whose peak RSS is measured: every one is refused with
/// its specific error, within bounded memory, with nothing written outside the state directory and nothing left in it.
/// </summary>
public sealed class HostileImageTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1 << 20;
    private const long PeakBoundKiB = 400 * 1024;
    private readonly ScratchDirectory scratch = new();

    private string Home => scratch.Combine("home");

    [Fact]
    public async Task APaxHeaderBombIsRefusedWithinBoundedMemory()
    {
        // One extended header claiming 1 GiB: 1 MB of gzip, the shape of the 1.4 MB layer that took pwsh to 6.5 GB.
        var layer = await GzipAsync(new TarInputStream(RawTar.Header("PaxHeaders/bomb", 'x', 1L << 30), 1L << 30));

        await AssertRefusedAsync(layer, "LayerArchiveLimitExceeded");
    }

    [Fact]
    public async Task AGnuLongNameBombIsRefusedWithinBoundedMemory()
    {
        var layer = await GzipAsync(new TarInputStream(RawTar.Header("././@LongLink", 'L', 1L << 30), 1L << 30));

        await AssertRefusedAsync(layer, "LayerArchiveLimitExceeded");
    }

    [Fact]
    public async Task AGzipBombEntryIsRefusedAtItsHeaderBeforeAnythingIsWritten()
    {
        // 100 GiB of zeros declared; the gzip holds the first 64 MiB of them.
        var layer = await GzipAsync(new TarInputStream(RawTar.Header("zeros", '0', 100L << 30), 64 * MiB, value: 0));

        await AssertRefusedAsync(layer, "LayerArchiveLimitExceeded");
    }

    [Fact]
    public async Task ALayerShorterThanItsHeadersClaimIsTruncated()
    {
        var layer = RawTar.Concat(RawTar.File("etc/ok", "fine"), RawTar.Header("etc/short", '0', 1 << 20), new byte[100]);

        await AssertRefusedAsync(layer, "LayerArchiveTruncated");
    }

    [Fact]
    public async Task ANulByteInAPaxPathCannotClimbOutOfTheRoot()
    {
        // libc stops at the NUL, so each "..\0x" component is ".." to the kernel: three of them climb from the staging
        // root to the state directory.
        var layer = RawTar.Concat(
            RawTar.Pax(RawTar.Record("path", "..\0x/..\0x/..\0x/pwned")),
            RawTar.File("placeholder", "written outside the root"),
            RawTar.End);

        await AssertRefusedAsync(layer, "LayerArchiveInvalid");
    }

    [Fact]
    public async Task AManifestJsonClaimingGigabytesIsRefusedBeforeItIsRead()
    {
        // A sparse file: the 3 GiB entry is all there, as zeros, and takes no disk.
        var archive = scratch.Combine("huge-manifest.tar");
        await using (var file = File.Create(archive))
        {
            await file.WriteAsync(RawTar.Header("manifest.json", '0', 3L << 30));
            file.SetLength(RawTar.Block + (3L << 30) + RawTar.End.Length);
        }

        await AssertArchiveRefusedAsync(archive, "ImageArchiveLimitExceeded");
    }

    [Fact]
    public async Task ADockerArchiveCutShortIsTruncated()
    {
        var archive = scratch.Combine("cut.tar");
        var whole = await DockerArchiveAsync(RawTar.Concat(RawTar.File("etc/hostname", "vm"), RawTar.End));
        var bytes = await File.ReadAllBytesAsync(whole);
        await File.WriteAllBytesAsync(archive, bytes[..(RawTar.Block * 3)]);

        await AssertArchiveRefusedAsync(archive, "ImageArchiveTruncated");
    }

    public void Dispose() => scratch.Dispose();

    private async Task AssertRefusedAsync(byte[] layer, string errorId) =>
        await AssertArchiveRefusedAsync(await DockerArchiveAsync(layer), errorId);

    private async Task AssertArchiveRefusedAsync(string archive, string errorId)
    {
        Directory.CreateDirectory(Home);
        var (result, peakKiB) = await RunChildAsync(archive);
        output.WriteLine($"{Path.GetFileName(archive)}: {result}, peak RSS {peakKiB / 1024} MiB");

        Assert.Equal(errorId, result);
        Assert.True(peakKiB < PeakBoundKiB, $"peak RSS {peakKiB / 1024} MiB");
        var left = Directory.EnumerateFileSystemEntries(Home, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Home, path))
            .Where(path => !path.StartsWith("state.db", StringComparison.Ordinal) && !path.StartsWith("cache", StringComparison.Ordinal) && path != "images" && !path.EndsWith(".lock", StringComparison.Ordinal))
            .ToList();
        Assert.True(left.Count == 0, $"left in the state directory: {string.Join(", ", left)}");
        Assert.All(Directory.EnumerateFileSystemEntries(scratch.Path).Select(Path.GetFileName), name => Assert.True(name == "home" || name!.EndsWith(".tar", StringComparison.Ordinal), name));
        Assert.Empty(await new ImageManager(new VmPsPaths(Home)).GetAllAsync(CancellationToken.None));
    }

    private async Task<(string Result, long PeakKiB)> RunChildAsync(string archive)
    {
        var (lines, exitCode, stderr) = await ImageAddChild.RunAsync(new VmPsPaths(Home), "archive:" + archive, "hostile");
        Assert.True(lines.ContainsKey("result"), $"the child died (exit code {exitCode}): {stderr}");
        return (lines["result"], long.Parse(lines["peak-kib"], System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<byte[]> GzipAsync(Stream tar)
    {
        var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await tar.CopyToAsync(gzip, 1 << 20);
        }

        return compressed.ToArray();
    }

    /// <summary>A docker save archive (manifest.json, config, one layer) around the layer bytes.</summary>
    private async Task<string> DockerArchiveAsync(byte[] layer)
    {
        var path = scratch.Combine($"image-{Guid.NewGuid():N}.tar");
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}}""");
        var manifest = Encoding.UTF8.GetBytes("""[{"Config":"config.json","RepoTags":["hostile:latest"],"Layers":["layer/layer.tar"]}]""");
        await using var file = File.Create(path);
        await using var writer = new TarWriter(file, TarEntryFormat.Ustar);
        await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, "config.json") { DataStream = new MemoryStream(config) });
        await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, "layer/layer.tar") { DataStream = new MemoryStream(layer) });
        await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(manifest) });
        return path;
    }
}
