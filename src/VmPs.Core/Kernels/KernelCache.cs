using VmPs.Core.State;

namespace VmPs.Core.Kernels;

/// <summary>
/// The VmPs kernels built on this host, under the state directory's kernels/ (0700):
/// <list type="bullet">
/// <item>KEY/: one complete entry (<see cref="VmPsKernel"/>), KEY being the source version and config hash;
/// it appears by a rename only once its files and manifest are on the disk</item>
/// <item>current: a symbolic link to the entry new VMs boot, replaced by a rename, so a reader sees the old
/// entry or the new one, never a half-written one</item>
/// <item>.build.lock: held by the one build that may run at a time</item>
/// <item>.build-*/ and .stage-*/: a running build's tree and its entry being assembled; a build that was killed
/// leaves them, and the next one removes them</item>
/// <item>build.log: the output of the last build</item>
/// </list>
/// </summary>
public sealed class KernelCache
{
    public const string CurrentLinkName = "current";

    internal const string BuildDirectoryPrefix = ".build-";
    internal const string StageDirectoryPrefix = ".stage-";

    public KernelCache(VmPsPaths paths)
    {
        Directory = paths.KernelsDirectory;
    }

    public string Directory { get; }

    public string BuildLogPath => Path.Combine(Directory, "build.log");

    private string CurrentLink => Path.Combine(Directory, CurrentLinkName);

    private string LockPath => Path.Combine(Directory, ".build.lock");

    /// <summary>The kernel new VMs boot, or null when none was built (or the link points at no complete entry).</summary>
    public VmPsKernel? Current => ReadCurrent(out _);

    /// <summary>
    /// Like <see cref="Current"/>; when the link exists but leads to no complete entry, <paramref name="problem"/>
    /// says so (Get-VmHost reports it) and the distro kernel is used.
    /// </summary>
    public VmPsKernel? ReadCurrent(out string? problem)
    {
        problem = null;
        var link = new FileInfo(CurrentLink);
        if (link.LinkTarget is not { } target)
        {
            return null;
        }

        var kernel = IsEntryName(target) ? VmPsKernel.Load(Path.Combine(Directory, target)) : null;
        if (kernel is null)
        {
            problem = $"The VmPs kernel link {CurrentLink} points at '{target}', which is not a complete kernel; VMs use the distro kernel. Run Build-VmKernel to rebuild it.";
        }

        return kernel;
    }

    /// <summary>The complete entry with this key, or null.</summary>
    public VmPsKernel? Find(string key) => IsEntryName(key) ? VmPsKernel.Load(Path.Combine(Directory, key)) : null;

    /// <summary>
    /// The cache entry a kernel file belongs to (its bzImage or vmlinux), or null when the file is not in a
    /// complete entry of a kernel cache: lets a VM created with the VmPs kernel find its vmlinux and know that
    /// it needs no modules.
    /// </summary>
    public static VmPsKernel? Describe(string kernelPath)
    {
        var fileName = Path.GetFileName(kernelPath);
        return fileName is VmPsKernel.BzImageFileName or VmPsKernel.VmlinuxFileName && Path.GetDirectoryName(kernelPath) is { } directory
            ? VmPsKernel.Load(directory)
            : null;
    }

    /// <summary>Waits for the build lock (one build at a time per cache), making the cache directory first.</summary>
    internal Task<FileLock> LockAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(Directory);
        return FileLock.AcquireAsync(LockPath, FileLock.DefaultTimeout, cancellationToken);
    }

    /// <summary>The build lock if no build holds it now, else null.</summary>
    internal FileLock? TryLock()
    {
        PrivateFiles.CreateDirectory(Directory);
        return FileLock.TryAcquire(LockPath);
    }

    /// <summary>A fresh private directory for a build's tree (under the lock).</summary>
    internal string CreateWorkDirectory(string prefix, string key)
    {
        var path = Path.Combine(Directory, $"{prefix}{key}-{Guid.NewGuid():N}");
        PrivateFiles.CreateDirectory(path);
        return path;
    }

    /// <summary>The build and stage directories of builds that were killed (call under the lock).</summary>
    internal IEnumerable<string> Leftovers() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateDirectories(Directory)
                .Where(path => Path.GetFileName(path) is var name && (name.StartsWith(BuildDirectoryPrefix, StringComparison.Ordinal) || name.StartsWith(StageDirectoryPrefix, StringComparison.Ordinal)))
                .ToList()
            : [];

    /// <summary>
    /// Publishes a staged entry under its key (replacing an entry of the same key in one exchange) and makes it
    /// current. Call under the lock; the stage must hold every file and the manifest, flushed.
    /// </summary>
    internal VmPsKernel Publish(string stageDirectory, string key)
    {
        var entry = Path.Combine(Directory, key);
        CacheFiles.SyncDirectory(stageDirectory);
        if (System.IO.Directory.Exists(entry))
        {
            // -Force on a cached key: swap, then the stage directory holds the old entry.
            CacheFiles.Exchange(stageDirectory, entry);
            System.IO.Directory.Delete(stageDirectory, recursive: true);
        }
        else
        {
            System.IO.Directory.Move(stageDirectory, entry);
        }

        CacheFiles.SyncDirectory(Directory);
        var kernel = VmPsKernel.Load(entry) ?? throw new IOException($"The published kernel {entry} is incomplete.");
        Select(kernel);
        return kernel;
    }

    /// <summary>Makes this entry the one new VMs boot.</summary>
    internal void Select(VmPsKernel kernel)
    {
        CacheFiles.ReplaceSymbolicLink(CurrentLink, kernel.Key);
        CacheFiles.SyncDirectory(Directory);
    }

    // Keys are made of a version and a hash; anything else (a path, "..") is not an entry of this cache.
    private static bool IsEntryName(string name) =>
        name.Length > 0 && !name.StartsWith('.') && !name.Contains('/') && name != CurrentLinkName;
}
