using System.Security.Cryptography;
using VmPs.Core.Images.Rootfs;
using VmPs.Core.State;

namespace VmPs.Core.Images;

/// <summary>
/// Resolves image names for New-Vm. The default image, busybox, is built from the host's static
/// busybox the first time it is asked for, so the quick start works with nothing downloaded.
/// </summary>
internal sealed class ImageCatalog
{
    public const string BusyboxImageName = "busybox";
    public const string RootfsFileName = "rootfs.erofs";
    private const string StagingPrefix = ".staging-busybox-";

    private static readonly ImageConfig BusyboxConfig = new()
    {
        Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
        WorkingDirectory = "/",
        User = "root",
    };

    private readonly VmPsPaths paths;
    private readonly ImageStore store;
    private readonly string busyboxPath;

    public ImageCatalog(VmPsPaths paths, ImageStore store, string busyboxPath = BusyboxRootfs.DefaultBusyboxPath)
    {
        this.paths = paths;
        this.store = store;
        this.busyboxPath = busyboxPath;
    }

    public async Task<ImageInfo> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(name, cancellationToken).ConfigureAwait(false) is { } image)
        {
            return image;
        }

        if (IsBusybox(name))
        {
            return await BuildBusyboxOnceAsync(cancellationToken).ConfigureAwait(false);
        }

        throw await NotFoundAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stored image of that name; null for none (busybox before its first use).</summary>
    public Task<ImageInfo?> FindStoredAsync(string name, CancellationToken cancellationToken) => store.FindAsync(name, cancellationToken);

    /// <summary>Fails as <see cref="ResolveAsync"/> would, without building busybox (New-Vm -WhatIf).</summary>
    public async Task ValidateAsync(string name, CancellationToken cancellationToken)
    {
        if (!IsBusybox(name) && await store.FindAsync(name, cancellationToken).ConfigureAwait(false) is null)
        {
            throw await NotFoundAsync(name, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsBusybox(string name) => string.Equals(name, BusyboxImageName, StringComparison.OrdinalIgnoreCase);

    private async Task<VmPsException> NotFoundAsync(string name, CancellationToken cancellationToken)
    {
        var available = (await store.GetAllAsync(cancellationToken).ConfigureAwait(false))
            .Select(i => i.Name)
            .Append(BusyboxImageName)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase);
        return new VmPsException(
            VmPsErrorIds.ImageNotFound,
            VmPsErrorKind.ObjectNotFound,
            $"No image named '{name}'. Available images: {string.Join(", ", available)}.",
            name)
        {
            RecommendedAction = "Use one of the available images, or add one with New-VmImage.",
        };
    }

    /// <summary>
    /// Sessions asking at once serialize on a file lock; the one that wins builds, the others then
    /// find the row. The rootfs is built in a staging directory and renamed into place before the
    /// row is written, so no row ever points at a partial file.
    /// </summary>
    private async Task<ImageInfo> BuildBusyboxOnceAsync(CancellationToken cancellationToken)
    {
        using var buildLock = (await FileLock.AcquireAsync(
            ImageDisk.NameLock(paths, BusyboxImageName), FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false)).DeleteOnDispose();
        if (await store.FindAsync(BusyboxImageName, cancellationToken).ConfigureAwait(false) is { } built)
        {
            return built;
        }

        DeleteAbandonedStaging();
        var id = Guid.NewGuid().ToString("N");
        var staging = Path.Combine(paths.ImagesDirectory, $"{StagingPrefix}{id}");
        var final = Path.Combine(paths.ImagesDirectory, id);
        try
        {
            var rootfsTree = Path.Combine(staging, "tree");
            var stagedImage = Path.Combine(staging, RootfsFileName);
            PrivateFiles.CreateNewDirectory(staging);
            await BusyboxRootfs.CreateAsync(busyboxPath, rootfsTree, cancellationToken).ConfigureAwait(false);
            await ErofsBuilder.BuildAsync(rootfsTree, stagedImage, ErofsMetadata.Normalize, cancellationToken).ConfigureAwait(false);
            PrivateFiles.Restrict(stagedImage);
            Directory.Delete(rootfsTree, recursive: true);
            Directory.Move(staging, final);

            var rootfs = Path.Combine(final, RootfsFileName);
            var image = new ImageInfo
            {
                Id = id,
                Name = BusyboxImageName,
                Reference = $"builtin:{BusyboxImageName}",
                Digest = await DigestAsync(rootfs, cancellationToken).ConfigureAwait(false),
                Platform = "linux/amd64",
                Format = ImageFormat.Erofs,
                RootfsPath = rootfs,
                SizeBytes = new FileInfo(rootfs).Length,
                InitMode = ImageInitMode.Exec,
                Config = BusyboxConfig,
                CreatedAt = DateTimeOffset.UtcNow,
            };
            await store.InsertAsync(image, cancellationToken).ConfigureAwait(false);
            return image;
        }
        catch
        {
            DeleteDirectoryIfExists(staging);
            DeleteDirectoryIfExists(final);
            throw;
        }
    }

    /// <summary>Staging left by a session that died mid-build; only a lock holder may build, so none is in use.</summary>
    private void DeleteAbandonedStaging()
    {
        foreach (var abandoned in Directory.EnumerateDirectories(paths.ImagesDirectory, $"{StagingPrefix}*"))
        {
            Directory.Delete(abandoned, recursive: true);
        }
    }

    /// <summary>The file's content digest as images record it (sha256:HEX).</summary>
    internal static async Task<string> DigestAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false);
        return $"sha256:{Convert.ToHexString(hash).ToLowerInvariant()}";
    }

    private static void DeleteDirectoryIfExists(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
