using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Layers;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Rootfs;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Protocol.Files;

namespace VmPs.Core.Images;

/// <summary>
/// New-VmImage's pipeline: fetch the blobs into the shared cache, apply the layers into a staging
/// directory, build the root filesystem, then register the image. Sessions adding one name at
/// once serialize on a lock per name. The rootfs is renamed into place before its row is written
/// and staging is deleted on every exit, so no row points at a partial image. What a session killed
/// at any step leaves (a staging tree, an image directory without its row, a partial download) is
/// repaired by the next add: the first two are deleted, the download resumes. The crash points
/// name those steps for the tests that kill an add there.
/// </summary>
internal sealed class ImagePipeline
{
    public const string CrashAfterLayers = "New-VmImage: layers applied";
    public const string CrashAfterBuild = "New-VmImage: root filesystem built";
    public const string CrashBeforeRecord = "New-VmImage: image directory in place";
    public const string CrashAfterRecord = "New-VmImage: image recorded";

    private const string Phase = "Converting";

    private readonly VmPsPaths paths;
    private readonly ImageStore store;
    private readonly BlobCache blobs;
    private readonly ImageDisk disk;

    public ImagePipeline(VmPsPaths paths, ImageStore store, BlobCache blobs, ImageDisk disk)
    {
        this.paths = paths;
        this.store = store;
        this.blobs = blobs;
        this.disk = disk;
    }

    public async Task<ImageInfo> AddAsync(
        IImageSource source, ImageAddOptions options, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        if (options.Name is not null)
        {
            ImageNames.Validate(options.Name);
        }

        if (options.Format is not (ImageFormat.Erofs or ImageFormat.Ext4))
        {
            throw new VmPsException(
                VmPsErrorIds.ImageParameterNotApplicable,
                VmPsErrorKind.InvalidArgument,
                $"An OCI image's root filesystem is built as Erofs or Ext4, not {options.Format}: {options.Format} is a disk image's format.",
                options.Format);
        }

        // Until the image's row lists its blobs, this share keeps Remove-VmImage and Clear-VmImageCache off them.
        using var blobShare = await disk.ShareBlobCacheAsync(cancellationToken).ConfigureAwait(false);
        var fetched = await source.FetchAsync(blobs, progress, cancellationToken).ConfigureAwait(false);
        var name = options.Name ?? ImageNames.DefaultFor(fetched.SourceReference);
        ImageNames.Validate(name);

        using var nameLock = (await FileLock.AcquireAsync(
            ImageDisk.NameLock(paths, name), FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false)).DeleteOnDispose();
        foreach (var litter in await disk.FindCrashLitterAsync(cancellationToken).ConfigureAwait(false))
        {
            disk.Remove(litter);
        }

        if (await store.FindAsync(name, cancellationToken).ConfigureAwait(false) is { } existing && !options.Force)
        {
            // Another session (or an earlier call) added this very image: adding it again is a no-op.
            return IsSameImage(existing, fetched, options) ? existing : throw ImageStore.NameInUse(name);
        }

        var config = OciImageConfig.Parse(await File.ReadAllBytesAsync(blobs.PathFor(fetched.Config.Digest), cancellationToken).ConfigureAwait(false));
        return await BuildAndRegisterAsync(name, fetched, config, options, progress, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsSameImage(ImageInfo existing, FetchedImage fetched, ImageAddOptions options) =>
        existing.Digest == fetched.ManifestDigest
        && existing.Format == options.Format
        && (options.InitMode is null || options.InitMode == existing.InitMode);

    private async Task<ImageInfo> BuildAndRegisterAsync(
        string name,
        FetchedImage fetched,
        OciImageConfig config,
        ImageAddOptions options,
        IProgress<ImagePullProgress>? progress,
        CancellationToken cancellationToken)
    {
        return await disk.BuildInStagingAsync(
            async (id, staging, final) =>
            {
                var tree = Path.Combine(staging, "rootfs");
                PrivateFiles.CreateNewDirectory(tree);
                var devices = new DeviceNodeTable();
                var layers = fetched.Layers;
                for (var applied = 0; applied < layers.Count; applied++)
                {
                    progress?.Report(new ImagePullProgress($"{Phase}: applying layers", 0, 0, applied, layers.Count));
                    await LayerApplier.ApplyAsync(tree, layers[applied], blobs.PathFor(layers[applied].Digest), devices, cancellationToken).ConfigureAwait(false);
                }

                CrashPoint.Reach(CrashAfterLayers);
                progress?.Report(new ImagePullProgress($"{Phase}: building the {options.Format} root filesystem", 0, 0, layers.Count, layers.Count));
                var fileName = RootfsFileName(options.Format);
                var rootfs = Path.Combine(staging, fileName);
                var size = await RootfsImageBuilder.BuildAsync(tree, options.Format, rootfs, devices.Locate(tree), cancellationToken).ConfigureAwait(false);
                PrivateFiles.Restrict(rootfs);
                await ImageDisk.WriteBlobListAsync(staging, [fetched.Config.Digest, .. layers.Select(layer => layer.Digest)], cancellationToken).ConfigureAwait(false);
                CrashPoint.Reach(CrashAfterBuild);
                StagingTree.Delete(tree);
                Directory.Move(staging, final);
                CrashPoint.Reach(CrashBeforeRecord);

                var image = new ImageInfo
                {
                    Id = id,
                    Name = name,
                    Reference = fetched.SourceReference,
                    Digest = fetched.ManifestDigest,
                    Platform = fetched.Platform.ToString(),
                    Format = options.Format,
                    RootfsPath = Path.Combine(final, fileName),
                    SizeBytes = size,
                    InitMode = options.InitMode ?? InitModeDetector.Detect(config.Entrypoint, config.Cmd),
                    Config = ToImageConfig(config),
                    CreatedAt = DateTimeOffset.UtcNow,
                    Owner = options.Owner,
                };
                var replaced = await store.InsertAsync(image, options.Force, cancellationToken).ConfigureAwait(false);
                CrashPoint.Reach(CrashAfterRecord);
                if (replaced is not null)
                {
                    ImageManager.DeleteFiles(paths, replaced);
                }

                return image;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static string RootfsFileName(ImageFormat format) => format switch
    {
        ImageFormat.Erofs => "rootfs.erofs",
        ImageFormat.Ext4 => "rootfs.ext4",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    private static ImageConfig ToImageConfig(OciImageConfig config) => new()
    {
        Entrypoint = config.Entrypoint,
        Cmd = config.Cmd,
        Env = config.Env,
        WorkingDirectory = config.WorkingDir,
        User = config.User,
        ExposedPorts = config.ExposedPorts,
        Labels = config.Labels,
        StopSignal = config.StopSignal,
    };
}
