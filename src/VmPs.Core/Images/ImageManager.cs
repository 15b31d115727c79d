using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Disk;
using VmPs.Core.Images.Oci;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;

namespace VmPs.Core.Images;

/// <summary>
/// The image store behind New-VmImage, Get-VmImage and Remove-VmImage: images pulled or imported
/// into bootable root filesystems, plus the built-in busybox image once it has been built.
/// </summary>
public sealed class ImageManager : IImageManager
{
    private readonly VmPsPaths paths;
    private readonly StorageSettingsStore storageSettings;
    private readonly LvmThinHost lvmThin;
    private readonly ImageStore store;
    private readonly ImagePipeline pipeline;
    private readonly ImageDisk disk;
    private readonly DiskImageImporter diskImporter;

    /// <summary>A manager of its own on <paramref name="paths"/>; cmdlets share the one of their <see cref="VmPsServices"/>.</summary>
    public ImageManager(VmPsPaths paths)
        : this(paths, new StateDatabase(paths?.StateDatabase ?? throw new ArgumentNullException(nameof(paths))))
    {
    }

    /// <param name="lvmThin">The host the LvmThin backend's plans run on; null: this host.</param>
    internal ImageManager(VmPsPaths paths, StateDatabase database, LvmThinHost? lvmThin = null)
    {
        this.paths = paths;
        storageSettings = new StorageSettingsStore(database);
        this.lvmThin = lvmThin ?? LvmThinHost.Real;
        store = new ImageStore(database);
        var blobs = new BlobCache(paths);
        disk = new ImageDisk(paths, store, blobs);
        pipeline = new ImagePipeline(paths, store, blobs, disk);
        diskImporter = new DiskImageImporter(paths, store, disk);
    }

    /// <summary>
    /// Fetches the image into the shared blob cache, applies its layers and builds its root filesystem, then
    /// registers it. Adding the same image under the same name again returns the existing one; another image
    /// under a taken name is ImageNameInUse unless <see cref="ImageAddOptions.Force"/>. A failure leaves no image.
    /// </summary>
    public Task<ImageInfo> AddAsync(
        IImageSource source, ImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        return pipeline.AddAsync(source, options, progress, cancellationToken);
    }

    /// <summary>
    /// Imports a qcow2 or raw disk image: copied into the store, refused when it refers to any other file (a backing
    /// or external data file), is corrupt, or is larger than a VM's disk may be. Importing the same file under the
    /// same name again returns the existing image. A failure leaves no image.
    /// </summary>
    public Task<ImageInfo> AddDiskAsync(DiskImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return diskImporter.AddAsync(options, progress, cancellationToken);
    }

    public Task<IReadOnlyList<ImageInfo>> GetAllAsync(CancellationToken cancellationToken) => store.GetAllAsync(cancellationToken);

    public Task<ImageInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return store.FindAsync(name, cancellationToken);
    }

    /// <summary>The named image; ImageNotFound when there is none.</summary>
    public async Task<ImageInfo> GetAsync(string name, CancellationToken cancellationToken) =>
        await FindAsync(name, cancellationToken).ConfigureAwait(false) ?? throw ImageStore.NotFound(name);

    /// <summary>
    /// Removes the image and its root filesystem, then the cached blobs no other image was built from (unless an add
    /// is running; the next removal or Clear-VmImageCache takes them). While VMs use the image this is refused
    /// (ImageInUse) unless <paramref name="force"/>; those VMs then fail to start with ImageRootfsMissing.
    /// </summary>
    public async Task RemoveAsync(string name, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        var removed = await store.RemoveAsync(name, force, cancellationToken).ConfigureAwait(false);
        await RemoveThinBaseAsync(removed, cancellationToken).ConfigureAwait(false);
        DeleteFiles(paths, removed);
        FileLock.DeleteIfFree(ImageDisk.NameLock(paths, removed.Name));
        await disk.RemoveUnreferencedBlobsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A disk image's base in the LvmThin backend's pool, which its VMs' snapshots no longer need (a thin snapshot
    /// outlives its origin). The row is gone first, so no new VM can ask for the base meanwhile.
    /// </summary>
    private async Task RemoveThinBaseAsync(ImageInfo image, CancellationToken cancellationToken)
    {
        var settings = await storageSettings.GetAsync(cancellationToken).ConfigureAwait(false);
        if (image.Kind == ImageKind.Disk && settings.Backend == StorageBackend.LvmThin)
        {
            await lvmThin.Storage(settings).RemoveBaseImageAsync(Guid.Parse(image.Id), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The images no VM uses (what Remove-VmImage -Prune removes), in name order.</summary>
    public Task<IReadOnlyList<ImageInfo>> GetUnusedAsync(CancellationToken cancellationToken) => store.GetUnusedAsync(cancellationToken);

    /// <summary>
    /// What Clear-VmImageCache removes: blobs no image was built from (every blob with <paramref name="allBlobs"/>:
    /// images boot from their own root filesystems, blobs only spare a later pull its download), interrupted downloads
    /// no pull is writing, and the staging trees and image directories of adds that were killed.
    /// </summary>
    public Task<IReadOnlyList<ImageCacheItem>> GetCacheItemsAsync(bool allBlobs, CancellationToken cancellationToken) =>
        disk.FindCacheItemsAsync(allBlobs, cancellationToken);

    /// <summary>Removes one item of <see cref="GetCacheItemsAsync"/>; false when an add took it meanwhile (it stays).</summary>
    public bool RemoveCacheItem(ImageCacheItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return disk.Remove(item);
    }

    /// <summary>Deletes the image's directory (images/ID), never anything outside the images directory.</summary>
    internal static void DeleteFiles(VmPsPaths paths, ImageInfo image)
    {
        var directory = Path.GetDirectoryName(image.RootfsPath);
        if (directory is not null
            && string.Equals(Path.GetDirectoryName(directory), paths.ImagesDirectory, StringComparison.Ordinal)
            && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
