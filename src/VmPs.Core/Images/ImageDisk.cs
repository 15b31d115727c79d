using System.Text.RegularExpressions;
using Newtonsoft.Json.Converters;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Layers;
using VmPs.Core.State;

namespace VmPs.Core.Images;

/// <summary>What Clear-VmImageCache finds on disk that no image needs.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum ImageCacheItemKind
{
    /// <summary>A verified blob no image was built from (or, with -All, any blob: images boot without them).</summary>
    Blob,

    /// <summary>An interrupted download ("&lt;digest&gt;.partial") no pull is writing.</summary>
    PartialDownload,

    /// <summary>A staging tree (images/.pull-ID) of an add that was killed.</summary>
    StagingTree,

    /// <summary>An image directory (images/ID) that no image row names: an add killed before it recorded the image.</summary>
    OrphanImage,

    /// <summary>A name's lock file (images/.NAME.lock) no add holds: left by a removed image or a killed add.</summary>
    NameLock,
}

/// <summary>One thing Clear-VmImageCache removes (or, under -WhatIf, would remove).</summary>
public sealed record ImageCacheItem(ImageCacheItemKind Kind, string Path, long SizeBytes);

/// <summary>
/// The image store's files beside its rows: staging trees (images/.pull-ID, locked by .pull-ID.lock while their add
/// runs), image directories (images/ID: the root filesystem and "blobs", the digests it was built from) and the blob
/// cache, whose lock adds share while their blobs have no image yet and blob removal takes alone. Finds and removes
/// what no image needs, always re-checking, at removal, that no add owns it.
/// </summary>
internal sealed partial class ImageDisk(VmPsPaths paths, ImageStore store, BlobCache blobs)
{
    private const string StagingPrefix = ".pull-";
    private const string LockSuffix = ".lock";
    private const string BlobListFile = "blobs";
    private const string PartialSuffix = ".partial";

    private string CacheLock => paths.BlobCacheDirectory + LockSuffix;

    public string StagingDirectory(string id) => Path.Combine(paths.ImagesDirectory, StagingPrefix + id);

    public string StagingLock(string id) => StagingDirectory(id) + LockSuffix;

    public string ImageDirectory(string id) => Path.Combine(paths.ImagesDirectory, id);

    /// <summary>Held by the one add (or busybox build) of an image name at a time.</summary>
    public static string NameLock(VmPsPaths paths, string name) => Path.Combine(paths.ImagesDirectory, $".{name.ToLowerInvariant()}{LockSuffix}");

    /// <summary>Held by an add from before its first download until its image row exists, so its blobs are not removed.</summary>
    public Task<FileLock> ShareBlobCacheAsync(CancellationToken cancellationToken) => FileLock.AcquireSharedAsync(CacheLock, FileLock.DefaultTimeout, cancellationToken);

    /// <summary>
    /// Runs one add's <paramref name="build"/> (given the new image's id, its staging directory and its final image
    /// directory) in a fresh 0700 staging directory, locked while the add runs; the build renames staging to the image
    /// directory before it records the image. Staging is deleted on every exit, the image directory on failure.
    /// </summary>
    public async Task<ImageInfo> BuildInStagingAsync(Func<string, string, string, Task<ImageInfo>> build, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var staging = StagingDirectory(id);
        var stagingLockPath = StagingLock(id);
        var final = ImageDirectory(id);
        using var stagingLock = await FileLock.AcquireAsync(stagingLockPath, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        try
        {
            // 0700 from the start: a staged tree holds the image's setuid files, which no other user may reach.
            PrivateFiles.CreateNewDirectory(staging);
            return await build(id, staging, final).ConfigureAwait(false);
        }
        catch
        {
            StagingTree.Delete(final);
            throw;
        }
        finally
        {
            StagingTree.Delete(staging);
            File.Delete(stagingLockPath);
        }
    }

    /// <summary>Records, in the image's directory, the blobs it was built from.</summary>
    public static Task WriteBlobListAsync(string imageDirectory, IEnumerable<string> digests, CancellationToken cancellationToken) =>
        PrivateFiles.WriteAllLinesAsync(Path.Combine(imageDirectory, BlobListFile), digests, cancellationToken);

    /// <summary>
    /// Staging trees and image directories that adds killed partway left (their locks are free), and staging locks
    /// whose tree is gone (an add killed after recording its image).
    /// </summary>
    public async Task<IReadOnlyList<ImageCacheItem>> FindCrashLitterAsync(CancellationToken cancellationToken)
    {
        var items = new List<ImageCacheItem>();
        if (!Directory.Exists(paths.ImagesDirectory))
        {
            return items;
        }

        foreach (var lockFile in Directory.EnumerateFiles(paths.ImagesDirectory, StagingPrefix + "*" + LockSuffix))
        {
            var staging = lockFile[..^LockSuffix.Length];
            if (!Directory.Exists(staging) && !FileLock.IsHeld(lockFile))
            {
                items.Add(new ImageCacheItem(ImageCacheItemKind.StagingTree, staging, 0));
            }
        }

        foreach (var lockFile in Directory.EnumerateFiles(paths.ImagesDirectory, "." + "*" + LockSuffix))
        {
            if (!Path.GetFileName(lockFile).StartsWith(StagingPrefix, StringComparison.Ordinal) && !FileLock.IsHeld(lockFile))
            {
                items.Add(new ImageCacheItem(ImageCacheItemKind.NameLock, lockFile, 0));
            }
        }

        foreach (var directory in Directory.EnumerateDirectories(paths.ImagesDirectory))
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith(StagingPrefix, StringComparison.Ordinal) && IsIdle(name[StagingPrefix.Length..]))
            {
                items.Add(new ImageCacheItem(ImageCacheItemKind.StagingTree, directory, SizeOf(directory)));
            }
            else if (ImageId().IsMatch(name) && IsIdle(name) && await store.FindByIdAsync(name, cancellationToken).ConfigureAwait(false) is null)
            {
                items.Add(new ImageCacheItem(ImageCacheItemKind.OrphanImage, directory, SizeOf(directory)));
            }
        }

        return items;
    }

    /// <summary>Crash litter, interrupted downloads no pull is writing, and blobs no image was built from (all blobs with <paramref name="allBlobs"/>).</summary>
    public async Task<IReadOnlyList<ImageCacheItem>> FindCacheItemsAsync(bool allBlobs, CancellationToken cancellationToken)
    {
        var items = (await FindCrashLitterAsync(cancellationToken).ConfigureAwait(false)).ToList();
        var referenced = allBlobs ? [] : await ReferencedBlobsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (path, digest) in BlobFiles())
        {
            if (digest is null)
            {
                if (!IsLocked(path))
                {
                    items.Add(new ImageCacheItem(ImageCacheItemKind.PartialDownload, path, new FileInfo(path).Length));
                }
            }
            else if (!referenced.Contains(digest))
            {
                items.Add(new ImageCacheItem(ImageCacheItemKind.Blob, path, new FileInfo(path).Length));
            }
        }

        return items;
    }

    /// <summary>
    /// Removes the item unless, by now, an add owns it (its lock is held; for a blob, an add is between its downloads
    /// and its image row). A tree is removed without following any link in it. False when it was left in place.
    /// </summary>
    public bool Remove(ImageCacheItem item)
    {
        switch (item.Kind)
        {
            case ImageCacheItemKind.StagingTree or ImageCacheItemKind.OrphanImage:
                var id = Path.GetFileName(item.Path).Replace(StagingPrefix, string.Empty, StringComparison.Ordinal);
                using (var owner = FileLock.TryAcquire(StagingLock(id)))
                {
                    if (owner is null)
                    {
                        return false;
                    }

                    StagingTree.Delete(item.Path);
                    File.Delete(StagingLock(id));
                    return true;
                }

            case ImageCacheItemKind.NameLock:
                return FileLock.DeleteIfFree(item.Path);
            case ImageCacheItemKind.PartialDownload:
                if (IsLocked(item.Path))
                {
                    return false;
                }

                File.Delete(item.Path);
                return true;
            default:
                PrivateFiles.CreateDirectory(paths.BlobCacheDirectory);
                using (var cache = FileLock.TryAcquire(CacheLock))
                {
                    if (cache is null)
                    {
                        return false;
                    }

                    File.Delete(item.Path);
                    return true;
                }
        }
    }

    /// <summary>After an image is removed: its blobs go when no other image was built from them and no add is running.</summary>
    public async Task<IReadOnlyList<ImageCacheItem>> RemoveUnreferencedBlobsAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(paths.BlobCacheDirectory);
        using var cache = FileLock.TryAcquire(CacheLock);
        if (cache is null)
        {
            return [];
        }

        var referenced = await ReferencedBlobsAsync(cancellationToken).ConfigureAwait(false);
        var removed = new List<ImageCacheItem>();
        foreach (var (path, digest) in BlobFiles())
        {
            if (digest is not null && !referenced.Contains(digest))
            {
                removed.Add(new ImageCacheItem(ImageCacheItemKind.Blob, path, new FileInfo(path).Length));
                File.Delete(path);
            }
        }

        return removed;
    }

    /// <summary>The digests every image's directory lists (an image from before VmPs recorded them lists none).</summary>
    private async Task<HashSet<string>> ReferencedBlobsAsync(CancellationToken cancellationToken)
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in await store.GetAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var list = Path.Combine(Path.GetDirectoryName(image.RootfsPath)!, BlobListFile);
            if (File.Exists(list))
            {
                referenced.UnionWith(await File.ReadAllLinesAsync(list, cancellationToken).ConfigureAwait(false));
            }
        }

        return referenced;
    }

    /// <summary>Each file of the cache: a verified blob with its digest, or a partial download (digest null).</summary>
    private IEnumerable<(string Path, string? Digest)> BlobFiles()
    {
        if (!Directory.Exists(blobs.FolderPath))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(blobs.FolderPath))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(PartialSuffix, StringComparison.Ordinal))
            {
                yield return (path, null);
            }
            else if (BlobDigest.IsValid("sha256:" + name))
            {
                yield return (path, "sha256:" + name);
            }
        }
    }

    private bool IsIdle(string id) => !FileLock.IsHeld(StagingLock(id));

    /// <summary>A partial download's writer holds an exclusive flock on it for as long as it writes.</summary>
    private static bool IsLocked(string path) => FileLock.IsHeld(path);

    private static long SizeOf(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 })
            .Sum(file => file.Length);

    [GeneratedRegex(@"^[0-9a-f]{32}\z")]
    private static partial Regex ImageId();
}
