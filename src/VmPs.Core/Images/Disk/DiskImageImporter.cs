using VmPs.Core.Hypervisors;
using VmPs.Core.Images.Layers;
using VmPs.Core.Images.Oci;
using VmPs.Core.State;
using VmPs.Core.Storage;

namespace VmPs.Core.Images.Disk;

/// <summary>
/// New-VmImage for disk images: the file is copied (a reflink where the file system can) into a private staging
/// directory first, so what is checked is what is stored however the source changes meanwhile; it is checked there
/// (<see cref="DiskImageInspector"/>), renamed into place and recorded. Adds of one name serialize on the name's lock;
/// staging is deleted on every exit, and what a killed add leaves is removed by the next one, as for OCI images.
/// </summary>
internal sealed class DiskImageImporter(VmPsPaths paths, ImageStore store, ImageDisk disk)
{
    private const string Phase = "Importing";

    public async Task<ImageInfo> AddAsync(DiskImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        ImageNames.Validate(options.Name);
        var source = Path.GetFullPath(options.Path);
        if (!File.Exists(source))
        {
            throw new VmPsException(
                VmPsErrorIds.ImageSourceNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"The disk image '{source}' does not exist.",
                source);
        }

        return await ImportAsync(
            options, source, (staged, token) => FileCopy.CopyAsync(source, staged, token), "copying the disk image", progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// New-VmImage -FromVm: <paramref name="disk"/> (a stopped VM's disk, with the backing chain VmPs wrote) is flattened
    /// by qemu-img convert into one qcow2 file in staging, then checked and stored as any imported disk image.
    /// </summary>
    public Task<ImageInfo> AddFlattenedAsync(
        DiskImageAddOptions options, string disk, DiskImageFormat format, string reference, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        ImageNames.Validate(options.Name);
        return ImportAsync(
            options, reference, (staged, token) => QemuImage.ConvertAsync(disk, format, staged, DiskImageFormat.Qcow2, token), "flattening the VM's disk", progress, cancellationToken);
    }

    private async Task<ImageInfo> ImportAsync(
        DiskImageAddOptions options,
        string source,
        Func<string, CancellationToken, Task> stage,
        string stageStep,
        IProgress<ImagePullProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var nameLock = (await FileLock.AcquireAsync(
            ImageDisk.NameLock(paths, options.Name), FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false)).DeleteOnDispose();
        foreach (var litter in await disk.FindCrashLitterAsync(cancellationToken).ConfigureAwait(false))
        {
            disk.Remove(litter);
        }

        return await disk.BuildInStagingAsync(
            async (id, staging, final) =>
            {
                var staged = Path.Combine(staging, "source");
                progress?.Report(new ImagePullProgress($"{Phase}: {stageStep}", 0, 0, 0, 1));
                await stage(staged, cancellationToken).ConfigureAwait(false);
                progress?.Report(new ImagePullProgress($"{Phase}: checking the disk image", 0, 0, 0, 1));
                var info = await DiskImageInspector.InspectAsync(staged, source, cancellationToken).ConfigureAwait(false);
                var digest = await ImageCatalog.DigestAsync(staged, cancellationToken).ConfigureAwait(false);
                if (await store.FindAsync(options.Name, cancellationToken).ConfigureAwait(false) is { } existing && !options.Force)
                {
                    // The same file imported again under its name (by another session or an earlier call) is a no-op.
                    return existing.Digest == digest && existing.Firmware == options.Firmware ? existing : throw ImageStore.NameInUse(options.Name);
                }

                var fileName = info.Format == DiskImageFormat.Qcow2 ? "disk.qcow2" : "disk.raw";
                File.Move(staged, Path.Combine(staging, fileName));
                Directory.Move(staging, final);
                var image = new ImageInfo
                {
                    Id = id,
                    Name = options.Name,
                    Reference = source,
                    Digest = digest,
                    Format = info.Format == DiskImageFormat.Qcow2 ? ImageFormat.Qcow2 : ImageFormat.Raw,
                    RootfsPath = Path.Combine(final, fileName),
                    SizeBytes = info.AllocatedBytes,
                    InitMode = ImageInitMode.Systemd,
                    Config = new ImageConfig(),
                    CreatedAt = DateTimeOffset.UtcNow,
                    Kind = ImageKind.Disk,
                    Firmware = options.Firmware,
                    VirtualSizeBytes = info.VirtualSizeBytes,
                };
                var replaced = await store.InsertAsync(image, options.Force, cancellationToken).ConfigureAwait(false);
                if (replaced is not null)
                {
                    ImageManager.DeleteFiles(paths, replaced);
                }

                progress?.Report(new ImagePullProgress($"{Phase}: done", 0, 0, 1, 1));
                return image;
            },
            cancellationToken).ConfigureAwait(false);
    }
}
