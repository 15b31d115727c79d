using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// A real distribution image at full size: a Debian bookworm minbase root filesystem made by debootstrap
/// (about 200 MB, thousands of files, hardlinks, setuid binaries), pushed as one gzip layer to the real
/// registry and pulled and converted by the pipeline.
/// </summary>
public sealed class DebianMinbaseImageTests : IClassFixture<OpenRegistry>, IDisposable
{
    private readonly OpenRegistry registry;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();

    public DebianMinbaseImageTests(OpenRegistry registry)
    {
        this.registry = registry;
    }

    [RequiresRootAndProgramsFact("docker-registry", "debootstrap", "tar", "mkfs.erofs", "dump.erofs")]
    public async Task DebianMinbasePullsIntoACompressedErofsWithItsFilesIntact()
    {
        var rootfs = scratch.Combine("minbase");
        await ExternalTool.RunCheckedAsync("debootstrap", ["--variant=minbase", "bookworm", rootfs], CancellationToken.None);
        var layer = scratch.Combine("layer.tar");
        await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, "-cf", layer, "."], CancellationToken.None);
        var treeBytes = long.Parse((await ExternalTool.RunCheckedAsync("du", ["-sb", rootfs], CancellationToken.None)).StandardOutput.Split('\t')[0]);
        var pushed = await registry.PushImageAsync("debian/minbase", "bookworm", [await File.ReadAllBytesAsync(layer)]);

        var image = await new ImageManager(home.Paths).AddAsync(
            new RegistryImageSource(registry.Reference("debian/minbase", "bookworm"), null, OciPlatform.Default, insecure: false),
            new ImageAddOptions(),
            null,
            CancellationToken.None);

        Assert.Equal(pushed.Digest, image.Digest);
        Assert.Equal(ImageFormat.Erofs, image.Format);
        Assert.InRange(image.SizeBytes, 1, treeBytes * 9 / 10);
        foreach (var path in new[] { "/etc/debian_version", "/usr/bin/apt-get", "/usr/bin/su" })
        {
            var inode = await ExternalTool.RunCheckedAsync("dump.erofs", [$"--path={path}", image.RootfsPath], CancellationToken.None);
            Assert.Contains($"File : {path}", inode.StandardOutput);
        }
    }

    public void Dispose()
    {
        home.Dispose();
        scratch.Dispose();
    }
}
