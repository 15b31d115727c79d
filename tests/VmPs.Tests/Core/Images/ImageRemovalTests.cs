using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

/// <summary>Remove-VmImage against real VMs in a real state database: refused while used, -Force leaves them unbootable.</summary>
public sealed class ImageRemovalTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("mkfs.ext4")]
    public async Task RemovalIsRefusedWhileAVmUsesTheImage()
    {
        var image = await AddImageAsync("app:1");
        await VmTestHost.Manager(home.Paths).CreateAsync(new VmCreateOptions { Name = "web", Image = "APP:1" }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() => Images().RemoveAsync("app:1", force: false, CancellationToken.None));

        Assert.Equal("ImageInUse", error.ErrorId);
        Assert.Contains("web", error.Message);
        Assert.Equal(image.Id, (await Images().GetAsync("app:1", CancellationToken.None)).Id);
        Assert.True(File.Exists(image.RootfsPath));
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task ForcedRemovalFreesTheNameAndLeavesItsVmsUnableToStart()
    {
        var image = await AddImageAsync("app:1");
        var vms = VmTestHost.Manager(home.Paths);
        await vms.CreateAsync(new VmCreateOptions { Name = "web", Image = "app:1" }, CancellationToken.None);

        await Images().RemoveAsync("app:1", force: true, CancellationToken.None);

        Assert.Empty(await Images().GetAllAsync(CancellationToken.None));
        Assert.False(Directory.Exists(Path.GetDirectoryName(image.RootfsPath)));
        Assert.Equal("web", (await vms.GetAsync("web", CancellationToken.None)).Name);
        var start = await Assert.ThrowsAsync<VmPsException>(() => vms.StartAsync("web", new VmStartOptions(), null, CancellationToken.None));
        Assert.Equal("ImageRootfsMissing", start.ErrorId);

        var successor = await AddImageAsync("app:1");
        Assert.Equal(successor.Id, (await Images().GetAsync("app:1", CancellationToken.None)).Id);
    }

    [Fact]
    public async Task RemovingAnUnusedImageDeletesItsRowAndFiles()
    {
        var image = await AddImageAsync("tool:2");

        await Images().RemoveAsync("TOOL:2", force: false, CancellationToken.None);

        Assert.Null(await Images().FindAsync("tool:2", CancellationToken.None));
        Assert.False(Directory.Exists(Path.GetDirectoryName(image.RootfsPath)));
        var again = await Assert.ThrowsAsync<VmPsException>(() => Images().RemoveAsync("tool:2", force: false, CancellationToken.None));
        Assert.Equal("ImageNotFound", again.ErrorId);
    }

    [Fact]
    public async Task AddingAnExistingNameIsRefusedUnlessReplacing()
    {
        var first = await AddImageAsync("tool:2");

        var error = await Assert.ThrowsAsync<VmPsException>(() => AddImageAsync("tool:2"));
        Assert.Equal("ImageNameInUse", error.ErrorId);

        var second = await AddImageAsync("tool:2", replaceExisting: true);
        Assert.Equal(second.Id, (await Images().GetAsync("tool:2", CancellationToken.None)).Id);
        Assert.NotEqual(first.Id, second.Id);
    }

    private ImageManager Images() => new(home.Paths);

    /// <summary>An image row with a rootfs file in its own images/ID directory, as the pipeline leaves it.</summary>
    private async Task<ImageInfo> AddImageAsync(string name, bool replaceExisting = false)
    {
        var id = Guid.NewGuid().ToString("N");
        var rootfs = Path.Combine(home.Paths.ImagesDirectory, id, "rootfs.erofs");
        Directory.CreateDirectory(Path.GetDirectoryName(rootfs)!);
        await File.WriteAllBytesAsync(rootfs, new byte[4096]);
        var image = new ImageInfo
        {
            Id = id,
            Name = name,
            Reference = $"127.0.0.1:5000/{name}",
            Digest = "sha256:" + new string('a', 64),
            Platform = "linux/amd64",
            Format = ImageFormat.Erofs,
            RootfsPath = rootfs,
            SizeBytes = 4096,
            InitMode = ImageInitMode.Exec,
            Config = new ImageConfig { Cmd = ["/bin/sh"] },
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await new ImageStore(new StateDatabase(home.Paths.StateDatabase)).InsertAsync(image, replaceExisting, CancellationToken.None);
        return image;
    }
}
