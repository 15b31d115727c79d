using VmPs.Core.Images.Oci;

namespace VmPs.Core.Images;

/// <summary>
/// The image operations behind New-VmImage, Get-VmImage and Remove-VmImage.
/// <see cref="ImageManager"/> is the real one; cmdlet tests use fakes.
/// </summary>
public interface IImageManager
{
    /// <summary>Pulls or imports the image and builds its root filesystem; a failure leaves no image.</summary>
    Task<ImageInfo> AddAsync(IImageSource source, ImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Imports a qcow2 or raw disk image (a cloud image) as a base VMs boot through firmware; a failure leaves no image.</summary>
    Task<ImageInfo> AddDiskAsync(DiskImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken);

    Task<IReadOnlyList<ImageInfo>> GetAllAsync(CancellationToken cancellationToken);

    Task<ImageInfo?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>The named image; ImageNotFound when there is none.</summary>
    Task<ImageInfo> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Removes the image and its root filesystem; refused while VMs use it unless <paramref name="force"/>.</summary>
    Task RemoveAsync(string name, bool force, CancellationToken cancellationToken);

    /// <summary>The images no VM uses (what Remove-VmImage -Prune removes), in name order.</summary>
    Task<IReadOnlyList<ImageInfo>> GetUnusedAsync(CancellationToken cancellationToken);

    /// <summary>What Clear-VmImageCache removes: unreferenced (or, with <paramref name="allBlobs"/>, all) blobs and what killed adds left.</summary>
    Task<IReadOnlyList<ImageCacheItem>> GetCacheItemsAsync(bool allBlobs, CancellationToken cancellationToken);

    /// <summary>Removes one item of <see cref="GetCacheItemsAsync"/>; false when an add took it meanwhile (it stays).</summary>
    bool RemoveCacheItem(ImageCacheItem item);
}
