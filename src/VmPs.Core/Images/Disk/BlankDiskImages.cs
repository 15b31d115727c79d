using VmPs.Core.Images.Blobs;
using VmPs.Core.State;

namespace VmPs.Core.Images.Disk;

/// <summary>
/// The built-in disk images an ISO install's VM starts from (New-Vm -IsoPath): one per firmware, a 1 MiB sparse raw
/// disk of zeros with no partition table, made the first time a VM needs it, like the default busybox image. The
/// VM's own disk is a qcow2 overlay of -DiskSizeGB over it, so it is as blank as it is large, and everything a disk
/// image VM has (Get-Vm's Image, Remove-VmImage's in-use check, New-VmImage -FromVm) works for it unchanged.
/// </summary>
internal sealed class BlankDiskImages(VmPsPaths paths, ImageStore store)
{
    /// <summary>The base's size: a virtual size of 0 is no disk (images.virtual_size_bytes must be positive).</summary>
    public const long BaseBytes = 1 << 20;

    private const string FileName = "disk.raw";

    /// <summary>The image's name, which says the firmware the VM boots through: blank-uefi or blank-bios.</summary>
    public static string NameOf(ImageFirmware firmware) => $"blank-{firmware.ToString().ToLowerInvariant()}";

    /// <summary>The firmware of an ISO install whose image is <paramref name="imageName"/> (see <see cref="NameOf"/>).</summary>
    public static ImageFirmware FirmwareOf(string imageName) =>
        string.Equals(imageName, NameOf(ImageFirmware.Bios), StringComparison.OrdinalIgnoreCase) ? ImageFirmware.Bios : ImageFirmware.Uefi;

    private static string ReferenceOf(ImageFirmware firmware) => $"builtin:{NameOf(firmware)}";

    /// <summary>The stored blank image of <paramref name="firmware"/>; null before its first use. A user's image of its name is refused.</summary>
    public async Task<ImageInfo?> FindAsync(ImageFirmware firmware, CancellationToken cancellationToken)
    {
        var image = await store.FindAsync(NameOf(firmware), cancellationToken).ConfigureAwait(false);
        return image is null || (image.Reference == ReferenceOf(firmware) && image.Kind == ImageKind.Disk) ? image : throw NameTaken(image);
    }

    /// <summary>The blank image of <paramref name="firmware"/>, made under its name's lock when there is none yet.</summary>
    public async Task<ImageInfo> ResolveAsync(ImageFirmware firmware, CancellationToken cancellationToken)
    {
        if (await FindAsync(firmware, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return stored;
        }

        var name = NameOf(firmware);
        using var nameLock = (await FileLock.AcquireAsync(ImageDisk.NameLock(paths, name), FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
            .DeleteOnDispose();
        if (await FindAsync(firmware, cancellationToken).ConfigureAwait(false) is { } made)
        {
            return made;
        }

        var disk = new ImageDisk(paths, store, new BlobCache(paths));
        return await disk.BuildInStagingAsync(
            async (id, staging, final) =>
            {
                await using (var file = PrivateFiles.Open(Path.Combine(staging, FileName), FileMode.CreateNew, FileAccess.Write))
                {
                    file.SetLength(BaseBytes);
                }

                var digest = await ImageCatalog.DigestAsync(Path.Combine(staging, FileName), cancellationToken).ConfigureAwait(false);
                Directory.Move(staging, final);
                var image = new ImageInfo
                {
                    Id = id,
                    Name = name,
                    Reference = ReferenceOf(firmware),
                    Digest = digest,
                    Format = ImageFormat.Raw,
                    RootfsPath = Path.Combine(final, FileName),
                    SizeBytes = 0,
                    InitMode = ImageInitMode.Systemd,
                    Config = new ImageConfig(),
                    CreatedAt = DateTimeOffset.UtcNow,
                    Kind = ImageKind.Disk,
                    Firmware = firmware,
                    VirtualSizeBytes = BaseBytes,
                };
                await store.InsertAsync(image, cancellationToken).ConfigureAwait(false);
                return image;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static VmPsException NameTaken(ImageInfo image) => new(
        VmPsErrorIds.BlankDiskImageNameTaken,
        VmPsErrorKind.ResourceExists,
        $"The image '{image.Name}' is not VmPs's blank disk for ISO installs (it came from '{image.Reference}'), and VmPs keeps that name for it.",
        image.Name)
    {
        RecommendedAction = $"Rename or remove the image '{image.Name}' (Remove-VmImage {image.Name}), then New-Vm -IsoPath again.",
    };
}
