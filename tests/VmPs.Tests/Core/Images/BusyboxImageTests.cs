using System.Runtime.Versioning;
using System.Security.Cryptography;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

[SupportedOSPlatform("linux")]
public sealed class BusyboxImageTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [RequiresProgramFact("mkfs.erofs", "fsck.erofs", "dump.erofs", "busybox")]
    public async Task BusyboxImageIsARealErofsRootfsWithAppletsAndBaseFiles()
    {
        var image = await Catalog().ResolveAsync("BusyBox", CancellationToken.None);

        Assert.Equal("busybox", image.Name);
        Assert.Equal(ImageFormat.Erofs, image.Format);
        Assert.Equal(ImageInitMode.Exec, image.InitMode);
        Assert.Empty(image.Config.Entrypoint);
        Assert.Empty(image.Config.Cmd);
        Assert.Contains(image.Config.Env, e => e.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.StartsWith(home.Paths.ImagesDirectory, image.RootfsPath);
        Assert.Equal(new FileInfo(image.RootfsPath).Length, image.SizeBytes);
        await using (var rootfs = File.OpenRead(image.RootfsPath))
        {
            Assert.Equal($"sha256:{Convert.ToHexStringLower(await SHA256.HashDataAsync(rootfs))}", image.Digest);
        }

        var extracted = Path.Combine(home.Paths.Root, "extracted");
        await ExternalTool.RunCheckedAsync("fsck.erofs", [$"--extract={extracted}", "--preserve", image.RootfsPath], CancellationToken.None);

        Assert.Equal(File.ReadAllBytes("/bin/busybox"), File.ReadAllBytes(Path.Combine(extracted, "bin/busybox")));
        Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(extracted, "bin/sh")).LinkTarget);
        Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(extracted, "usr/bin/[")).LinkTarget);
        Assert.StartsWith("root:x:0:0:", File.ReadAllText(Path.Combine(extracted, "etc/passwd")));
        Assert.StartsWith("root:x:0:", File.ReadAllText(Path.Combine(extracted, "etc/group")));
        Assert.Contains("localhost", File.ReadAllText(Path.Combine(extracted, "etc/hosts")));
        Assert.Equal(
            UnixFileMode.StickyBit | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(Path.Combine(extracted, "tmp")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(extracted, "root")));
        Assert.All(new[] { "proc", "sys", "dev", "run" }, dir => Assert.True(Directory.Exists(Path.Combine(extracted, dir)), dir));

        var statistics = await ExternalTool.RunCheckedAsync("dump.erofs", ["-S", image.RootfsPath], CancellationToken.None);
        Assert.Matches(@"Filesystem compressed files:\s+[1-9]", statistics.StandardOutput);
    }

    [RequiresProgramFact("mkfs.erofs", "busybox")]
    public async Task SessionsAskingAtOnceBuildTheImageOnce()
    {
        var resolved = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Catalog().ResolveAsync("busybox", CancellationToken.None))));

        Assert.Single(resolved.Select(image => image.Id).Distinct());
        Assert.Single(await new ImageStore(new StateDatabase(home.Paths.StateDatabase)).GetAllAsync(CancellationToken.None));
        Assert.Equal([resolved[0].Id], Directory.GetDirectories(home.Paths.ImagesDirectory).Select(Path.GetFileName));
    }

    [RequiresProgramFact("mkfs.erofs", "busybox")]
    public async Task StagingAbandonedByACrashedBuildIsCleanedUp()
    {
        var abandoned = Path.Combine(home.Paths.ImagesDirectory, ".staging-busybox-0123", "tree");
        Directory.CreateDirectory(abandoned);

        var image = await Catalog().ResolveAsync("busybox", CancellationToken.None);

        Assert.Equal([image.Id], Directory.GetDirectories(home.Paths.ImagesDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task UnknownImageIsNotFoundAndListsTheAvailableOnes()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => Catalog().ResolveAsync("no-such-image", CancellationToken.None));

        Assert.Equal("ImageNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.ObjectNotFound, error.Kind);
        Assert.Contains("Available images: busybox", error.Message);
    }

    [Fact]
    public async Task MissingBusyboxNamesThePackageAndLeavesNothingBehind()
    {
        var catalog = Catalog(busyboxPath: Path.Combine(home.Paths.Root, "no-busybox"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => catalog.ResolveAsync("busybox", CancellationToken.None));

        Assert.Equal("BusyboxNotInstalled", error.ErrorId);
        Assert.Contains("busybox-static", error.Message);
        Assert.Empty(Directory.GetDirectories(home.Paths.ImagesDirectory));
        Assert.Empty(await new ImageStore(new StateDatabase(home.Paths.StateDatabase)).GetAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task DynamicallyLinkedBusyboxIsRefused()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            Catalog(busyboxPath: "/usr/bin/env").ResolveAsync("busybox", CancellationToken.None));

        Assert.Equal("BusyboxNotStatic", error.ErrorId);
        Assert.Contains("busybox-static", error.Message);
    }

    public void Dispose() => home.Dispose();

    private ImageCatalog Catalog(string busyboxPath = "/bin/busybox") =>
        new(home.Paths, new ImageStore(new StateDatabase(home.Paths.StateDatabase)), busyboxPath);
}
