using System.Formats.Tar;
using VmPs.Core.Images;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Processes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// New-VmImage killed (SIGKILL, at a crash point) at each of its steps, pulling from a real registry: the next add of
/// the same image succeeds and leaves exactly what an uninterrupted add leaves (one row, one image directory, its blobs)
/// and nothing else: no staging tree, no orphaned image directory, no partial download, no staging lock.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ImageCrashRecoveryTests(OpenRegistry registry, ITestOutputHelper output) : IClassFixture<OpenRegistry>, IDisposable
{
    private const int SigKillExitCode = 137;
    private readonly TemporaryVmPsHome home = new();

    public static TheoryData<string> Steps =>
    [
        BlobCache.CrashDuringDownload,
        ImagePipeline.CrashAfterLayers,
        ImagePipeline.CrashAfterBuild,
        ImagePipeline.CrashBeforeRecord,
        ImagePipeline.CrashAfterRecord,
    ];

    public void Dispose() => home.Dispose();

    [RequiresProgramTheory("docker-registry", "mkfs.erofs")]
    [MemberData(nameof(Steps))]
    public async Task NewVmImageKilledAtAStepIsRepairedByTheNextCall(string step)
    {
        var repository = $"crash/{Guid.NewGuid():N}";
        await registry.PushImageAsync(repository, "v1", [Layer()], gzip: false);
        var source = $"registry:{registry.Reference(repository, "v1")}";

        var (_, exitCode, stderr) = await ImageAddChild.RunAsync(home.Paths, source, "crashed", crashAt: step);
        Assert.True(exitCode == SigKillExitCode, $"the add was not killed at '{step}' (exit code {exitCode}): {stderr}");
        var litter = Litter();
        output.WriteLine($"killed at '{step}': left {string.Join(", ", litter.DefaultIfEmpty("nothing but a row"))}");

        var (lines, _, repairStderr) = await ImageAddChild.RunAsync(home.Paths, source, "crashed");

        Assert.True(lines.GetValueOrDefault("result") == "ok", $"the next add failed: {lines.GetValueOrDefault("result")} {repairStderr}");
        var image = Assert.Single(await new ImageManager(home.Paths).GetAllAsync(CancellationToken.None));
        Assert.Equal([Path.GetFileName(Path.GetDirectoryName(image.RootfsPath))!], Directory.EnumerateDirectories(home.Paths.ImagesDirectory).Select(Path.GetFileName));
        Assert.Empty(Litter());
        Assert.Empty(await new ImageManager(home.Paths).GetCacheItemsAsync(allBlobs: false, CancellationToken.None));
    }

    [RequiresRootAndProgramsFact("docker-registry", "mkfs.erofs", "setpriv")]
    public async Task AStagingTreeLeftByAKilledAddIsPrivateAndHoldsNoDevice()
    {
        var repository = $"crash/{Guid.NewGuid():N}";
        await registry.PushImageAsync(repository, "v1", [Layer()], gzip: false);

        await ImageAddChild.RunAsync(home.Paths, $"registry:{registry.Reference(repository, "v1")}", "crashed", crashAt: ImagePipeline.CrashAfterLayers);

        var staging = Assert.Single(Directory.EnumerateDirectories(home.Paths.ImagesDirectory, ".pull-*"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(staging));
        var devices = await ExternalTool.RunCheckedAsync("find", [staging, "(", "-type", "b", "-o", "-type", "c", ")"], CancellationToken.None);
        Assert.Equal(string.Empty, devices.StandardOutput);
        var setuid = Path.Combine(staging, "rootfs", "bin", "suid");
        Assert.True(File.Exists(setuid));
        var asNobody = await ExternalTool.RunAsync(
            "setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "stat", setuid], CancellationToken.None);
        Assert.NotEqual(0, asNobody.ExitCode);
        Assert.Contains("Permission denied", asNobody.StandardError);
    }

    /// <summary>What only a killed add leaves: staging trees and their locks, partial downloads, image directories without a row.</summary>
    private List<string> Litter()
    {
        var images = home.Paths.ImagesDirectory;
        var found = Directory.Exists(images)
            ? Directory.EnumerateFileSystemEntries(images, ".pull-*").Select(Path.GetFileName).ToList()
            : [];
        var blobs = Path.Combine(home.Paths.BlobCacheDirectory, "sha256");
        if (Directory.Exists(blobs))
        {
            found.AddRange(Directory.EnumerateFiles(blobs, "*.partial").Select(Path.GetFileName));
        }

        var recorded = new ImageManager(home.Paths).GetAllAsync(CancellationToken.None).GetAwaiter().GetResult()
            .Select(image => Path.GetFileName(Path.GetDirectoryName(image.RootfsPath))).ToHashSet();
        if (Directory.Exists(images))
        {
            found.AddRange(Directory.EnumerateDirectories(images).Select(Path.GetFileName).Where(name => !name!.StartsWith('.') && !recorded.Contains(name)).Select(name => $"orphan {name}"));
        }

        return found!;
    }

    /// <summary>A layer larger than one 64 KiB write (so a download can stop partway), with a device node and a setuid file.</summary>
    private static byte[] Layer()
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0x1ED });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/suid") { Mode = (UnixFileMode)0x9ED, DataStream = new MemoryStream("#!/bin/sh\n"u8.ToArray()) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "random.bin") { DataStream = new MemoryStream(System.Security.Cryptography.RandomNumberGenerator.GetBytes(512 * 1024)) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "dev/") { Mode = (UnixFileMode)0x1ED });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, "dev/null") { DeviceMajor = 1, DeviceMinor = 3, Mode = (UnixFileMode)0x1B6 });
        }

        return tar.ToArray();
    }
}
