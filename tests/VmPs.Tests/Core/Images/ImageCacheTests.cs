using VmPs.Core.Images;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Registry;
using VmPs.Core.Images.Oci;
using VmPs.Core.State;
using VmPs.Tests.Core.Images.Oci;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images;

/// <summary>
/// What Remove-VmImage and Clear-VmImageCache free: blobs no image was built from, interrupted downloads no pull
/// writes, what killed adds left; never a blob another image or a running add needs.
/// </summary>
public sealed class ImageCacheTests(OpenRegistry registry) : IClassFixture<OpenRegistry>, IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("docker-registry", "mkfs.erofs")]
    public async Task RemovingAnImageRemovesTheBlobsOnlyItWasBuiltFrom()
    {
        var shared = TestImage.LayerTar(("shared.txt", "both images"));
        var first = await registry.PushImageAsync("cache/first", "v1", [shared, TestImage.LayerTar(("first.txt", "only the first"))]);
        var second = await registry.PushImageAsync("cache/second", "v1", [shared, TestImage.LayerTar(("second.txt", "only the second"))]);
        var images = new ImageManager(home.Paths);
        await images.AddAsync(Source("cache/first"), new ImageAddOptions(), null, CancellationToken.None);
        await images.AddAsync(Source("cache/second"), new ImageAddOptions(), null, CancellationToken.None);

        await images.RemoveAsync("first:v1", force: false, CancellationToken.None);

        var cache = new BlobCache(home.Paths);
        Assert.All(second.Blobs(), blob => Assert.True(cache.Contains(blob.Descriptor.Digest), blob.Descriptor.Digest));
        Assert.False(cache.Contains(first.Layers[1].Descriptor.Digest));
        Assert.False(cache.Contains(first.Config.Descriptor.Digest));
        Assert.Empty(await images.GetCacheItemsAsync(allBlobs: false, CancellationToken.None));
        Assert.Equal(3, (await images.GetCacheItemsAsync(allBlobs: true, CancellationToken.None)).Count(item => item.Kind == ImageCacheItemKind.Blob));
    }

    [RequiresProgramFact("docker-registry", "mkfs.erofs")]
    public async Task ClearingTheCacheTakesLitterAndUnreferencedBlobsButNothingAPullWrites()
    {
        var images = new ImageManager(home.Paths);
        await registry.PushImageAsync("cache/kept", "v1", [TestImage.LayerTar(("kept.txt", "kept"))]);
        var kept = await images.AddAsync(Source("cache/kept"), new ImageAddOptions(), null, CancellationToken.None);
        var blobs = Path.Combine(home.Paths.BlobCacheDirectory, "sha256");
        var stray = Path.Combine(blobs, new string('a', 64));
        var abandoned = Path.Combine(blobs, new string('b', 64) + ".partial");
        var downloading = Path.Combine(blobs, new string('c', 64) + ".partial");
        var staging = Path.Combine(home.Paths.ImagesDirectory, ".pull-" + new string('d', 32));
        var orphan = Path.Combine(home.Paths.ImagesDirectory, new string('e', 32));
        File.WriteAllText(stray, "no image was built from this");
        File.WriteAllText(abandoned, "half");
        Directory.CreateDirectory(Path.Combine(staging, "rootfs", "etc"));
        Directory.CreateDirectory(orphan);
        File.WriteAllText(Path.Combine(orphan, "rootfs.erofs"), "never recorded");
        // A pull writing a partial file holds it exclusively, as BlobCache does.
        await using var writer = new FileStream(downloading, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        // A New-VmImage killed while it held its name's lock leaves the file; a running one holds its own.
        var staleNameLock = ImageDisk.NameLock(home.Paths, "killed:v1");
        File.WriteAllText(staleNameLock, string.Empty);
        var runningNameLock = ImageDisk.NameLock(home.Paths, "running:v1");
        using var running = FileLock.TryAcquire(runningNameLock);

        var items = await images.GetCacheItemsAsync(allBlobs: false, CancellationToken.None);

        Assert.Equal(
            [(ImageCacheItemKind.Blob, stray), (ImageCacheItemKind.PartialDownload, abandoned), (ImageCacheItemKind.StagingTree, staging), (ImageCacheItemKind.OrphanImage, orphan), (ImageCacheItemKind.NameLock, staleNameLock)],
            items.Select(item => (item.Kind, item.Path)).OrderBy(item => item.Kind));
        Assert.All(items, item => Assert.True(images.RemoveCacheItem(item), item.Path));
        Assert.False(File.Exists(stray) || File.Exists(abandoned) || Directory.Exists(staging) || Directory.Exists(orphan));
        Assert.True(File.Exists(downloading));
        Assert.False(File.Exists(staleNameLock));
        Assert.True(File.Exists(runningNameLock));
        Assert.False(File.Exists(ImageDisk.NameLock(home.Paths, kept.Name)), "an add removes its name's lock when it ends");
        Assert.True(File.Exists(kept.RootfsPath));
        Assert.Empty(await images.GetCacheItemsAsync(allBlobs: false, CancellationToken.None));
    }

    private RegistryImageSource Source(string repository) => new(registry.Reference(repository, "v1"), null, OciPlatform.Default, insecure: false);
}
