using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Core.Processes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// A real distribution image at full size: a Debian bookworm minbase root filesystem made by debootstrap
/// (about 200 MB, thousands of files, hardlinks, setuid binaries; cached on the machine), pushed as one layer to
/// the real registry and pulled and converted by the pipeline.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class DebianMinbaseImageTests : IClassFixture<OpenRegistry>, IDisposable
{
    private readonly OpenRegistry registry;
    private readonly ITestOutputHelper output;
    private readonly TemporaryVmPsHome home = new();

    public DebianMinbaseImageTests(OpenRegistry registry, ITestOutputHelper output)
    {
        this.registry = registry;
        this.output = output;
    }

    [RequiresRootAndProgramsFact("docker-registry", "debootstrap", "tar", "mkfs.erofs", "dump.erofs")]
    public async Task DebianMinbasePullsIntoACompressedErofsWithItsFilesIntact()
    {
        var layer = await DebootstrapCache.MinbaseTarAsync("bookworm", [], output.WriteLine);
        var treeBytes = DebootstrapCache.ContentBytes(layer);
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

    public void Dispose() => home.Dispose();
}
