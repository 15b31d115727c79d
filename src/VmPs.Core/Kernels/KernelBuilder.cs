using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Kernels;

/// <summary>What Build-VmKernel is asked for: the source tarball and an extra config fragment (both optional).</summary>
public sealed record KernelBuildRequest
{
    /// <summary>The kernel source tarball; null: the newest /usr/src/linux-source-*.tar.xz.</summary>
    public string? SourcePath { get; init; }

    /// <summary>A config fragment merged over kernel/vmps.config (its values win); null: VmPs's fragment alone.</summary>
    public string? ConfigPath { get; init; }
}

/// <summary>A resolved build: what would be built, under which cache key, and whether it is built already.</summary>
public sealed record KernelBuildPlan(KernelSource Source, KernelConfigFragment Config, string ConfigHash, string Key, VmPsKernel? Cached);

/// <summary>Knobs for tests and unusual hosts; the defaults describe a normal build.</summary>
internal sealed record KernelBuilderOptions
{
    /// <summary>Where the build's programs are looked for; null: $PATH plus the sbin directories.</summary>
    public string? SearchPath { get; init; }

    /// <summary>Free space the build needs in the cache's file system: the extracted source (1.5 GB) and the objects.</summary>
    public long RequiredFreeBytes { get; init; } = 2560L << 20;

    /// <summary>The compile runs at this nice value, so that running VMs and other work keep the CPU.</summary>
    public int NiceLevel { get; init; } = 19;

    public int Jobs { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// Build-VmKernel: builds the VmPs guest kernel from a kernel source tarball into the <see cref="KernelCache"/>.
/// allnoconfig, kernel/vmps.config (and the user's fragment) merged with merge_config.sh, olddefconfig, a check that
/// every setting survived, then make bzImage at the lowest priority; the bzImage and the uncompressed vmlinux (checked
/// for its PVH entry) are published as one cache entry by a rename and made current. A build that fails or is
/// cancelled leaves the previous kernel current and nothing half-written behind.
/// </summary>
public sealed partial class KernelBuilder
{
    /// <summary>Bump when the recipe (base config, targets, published files) changes, so older entries are not reused.</summary>
    private const string Recipe = "vmps-kernel-recipe-1\nallnoconfig\nARCH=x86_64\nbzImage\n";

    /// <summary>The compile's output lines for kernel/vmps.config, measured; the progress estimate before any build here.</summary>
    private const int DefaultCompileSteps = 2020;

    private const string Architecture = "ARCH=x86_64";

    private readonly KernelCache cache;
    private readonly KernelBuilderOptions options;

    public KernelBuilder(VmPsPaths paths)
        : this(paths, new KernelBuilderOptions())
    {
    }

    internal KernelBuilder(VmPsPaths paths, KernelBuilderOptions options)
    {
        cache = new KernelCache(paths);
        this.options = options;
    }

    public KernelCache Cache => cache;

    /// <summary>Resolves the source and config of a request (fast: no extraction), for ShouldProcess and the cache lookup.</summary>
    public async Task<KernelBuildPlan> PlanAsync(KernelBuildRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var source = await KernelSource.ResolveAsync(request.SourcePath, cancellationToken).ConfigureAwait(false);
        var config = request.ConfigPath is null
            ? KernelConfigFragment.VmPs
            : KernelConfigFragment.VmPs.With(await KernelConfigFragment.ReadAsync(Path.GetFullPath(request.ConfigPath), cancellationToken).ConfigureAwait(false));
        var configHash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Recipe + config.Text))).ToLowerInvariant();
        var key = $"{source.Version}-{configHash[..12]}";
        return new KernelBuildPlan(source, config, configHash, key, cache.Find(key));
    }

    /// <summary>
    /// Makes the planned kernel current: the cached entry when there is one (unless <paramref name="force"/>), else a
    /// build. Waits for a build another session runs. On failure the previous kernel stays current, the error says
    /// why, and the build log is kept.
    /// </summary>
    public async Task<VmPsKernel> BuildAsync(KernelBuildPlan plan, bool force, IProgress<VmProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var activity = $"Building the VmPs kernel ({plan.Source.Version}, config {plan.ConfigHash[..12]})";
        void Report(string status, int percent) => progress?.Report(new VmProgress(activity, status, percent));

        using var buildLock = cache.TryLock() ?? await WaitForLockAsync(Report, cancellationToken).ConfigureAwait(false);
        RemoveLeftovers();
        if (!force && cache.Find(plan.Key) is { } cached)
        {
            cache.Select(cached);
            return cached;
        }

        var previous = cache.Current;
        try
        {
            return await BuildLockedAsync(plan, Report, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException failure)
        {
            var fallback = previous is null
                ? "New VMs keep booting the distro kernel."
                : $"The previous VmPs kernel ({previous.Release}, built {previous.BuiltAt.ToLocalTime():yyyy-MM-dd HH:mm}) stays in use.";
            throw new VmPsException(failure.ErrorId, failure.Kind, $"{failure.Message}{Environment.NewLine}{fallback} Build log: {cache.BuildLogPath}", failure.Target, failure)
            {
                RecommendedAction = failure.RecommendedAction,
            };
        }
    }

    private async Task<VmPsKernel> BuildLockedAsync(KernelBuildPlan plan, Action<string, int> report, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        report("Checking the build tools and disk space", 0);
        KernelBuildPrerequisites.CheckTools(plan.Source, options.SearchPath);
        KernelBuildPrerequisites.CheckSpace(cache.Directory, options.RequiredFreeBytes);

        var work = cache.CreateWorkDirectory(KernelCache.BuildDirectoryPrefix, plan.Key);
        try
        {
            await using var log = TextWriter.Synchronized(new StreamWriter(PrivateFiles.Open(cache.BuildLogPath, FileMode.Create, FileAccess.Write)) { AutoFlush = true });
            var command = new KernelBuildCommand(log, work, options.NiceLevel);
            var source = Path.Combine(work, "src");
            var objects = Path.Combine(work, "obj");
            PrivateFiles.CreateNewDirectory(source);
            PrivateFiles.CreateNewDirectory(objects);
            await RunStepAsync(() => ExtractAsync(command, plan.Source, source, report, cancellationToken), cancellationToken).ConfigureAwait(false);
            await RunStepAsync(() => ConfigureAsync(command, plan.Config, work, source, objects, report, cancellationToken), cancellationToken).ConfigureAwait(false);
            var compileSteps = 0;
            await RunStepAsync(async () => compileSteps = await CompileAsync(command, source, objects, report, cancellationToken).ConfigureAwait(false), cancellationToken)
                .ConfigureAwait(false);

            report("Checking the kernel images", 97);
            var release = await ReadReleaseAsync(command, source, objects, cancellationToken).ConfigureAwait(false);
            var bzImage = Path.Combine(objects, "arch", "x86", "boot", "bzImage");
            var vmlinux = Path.Combine(objects, "vmlinux");
            await CheckImagesAsync(bzImage, vmlinux, release, cancellationToken).ConfigureAwait(false);

            report("Adding the kernel to the cache", 98);
            var kernel = new VmPsKernel
            {
                Key = plan.Key,
                Release = release,
                SourcePath = plan.Source.Path,
                SourceVersion = plan.Source.Version,
                ConfigHash = plan.ConfigHash,
                BuiltAt = DateTimeOffset.UtcNow,
                BuildDuration = started.Elapsed,
                CompileSteps = compileSteps,
            };
            return await RunStepAsync(() => PublishAsync(kernel, bzImage, vmlinux, Path.Combine(objects, ".config"), plan.Config, cancellationToken), cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            report("Removing the build tree", 99);
            TryDelete(work);
        }
    }

    private async Task<FileLock> WaitForLockAsync(Action<string, int> report, CancellationToken cancellationToken)
    {
        report($"Waiting for the kernel build another session runs in {cache.Directory}", -1);
        return await cache.LockAsync(cancellationToken).ConfigureAwait(false);
    }

    private void RemoveLeftovers()
    {
        foreach (var leftover in cache.Leftovers())
        {
            KernelBuildCommand.KillLeftover(leftover);
            TryDelete(leftover);
        }
    }

    /// <summary>
    /// Removes a build or stage tree. A compiler killed a moment ago may still be finishing a write, so a failure is
    /// retried; a tree that still cannot go is left for the next build (never selected: it is not an entry).
    /// </summary>
    private static void TryDelete(string directory)
    {
        for (var attempt = 1; Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && attempt < 5)
            {
                Thread.Sleep(200 * attempt);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    /// <summary>tar reads the tarball from a pipe that this process fills, so the bytes read give the progress.</summary>
    private static Task ExtractAsync(KernelBuildCommand command, KernelSource source, string destination, Action<string, int> report, CancellationToken cancellationToken)
    {
        var length = new FileInfo(source.Path).Length;
        var status = $"Extracting {source.Path}";
        report(status, 1);
        return command.RunAsync(
            $"extracting {source.Path}",
            "tar",
            ["-x", source.TarCompressionFlag, "-f", "-", "--strip-components=1", "--no-same-owner", "-C", destination],
            destination,
            onLine: null,
            async (input, token) =>
            {
                await using var file = new FileStream(source.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                var buffer = new byte[1 << 16];
                long copied = 0;
                var lastPercent = 1;
                while (await file.ReadAsync(buffer, token).ConfigureAwait(false) is var read and > 0)
                {
                    await input.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    copied += read;
                    var percent = 1 + (int)(14 * copied / Math.Max(1, length));
                    if (percent != lastPercent)
                    {
                        lastPercent = percent;
                        report(status, percent);
                    }
                }
            },
            cancellationToken);
    }

    private static async Task ConfigureAsync(
        KernelBuildCommand command,
        KernelConfigFragment config,
        string work,
        string source,
        string objects,
        Action<string, int> report,
        CancellationToken cancellationToken)
    {
        report("Configuring: allnoconfig, the VmPs fragment, olddefconfig", 15);
        var fragment = Path.Combine(work, VmPsKernel.FragmentFileName);
        await PrivateFiles.WriteAllTextAsync(fragment, config.Text, cancellationToken).ConfigureAwait(false);
        await command.RunAsync("configuring (allnoconfig)", "make", [Architecture, $"O={objects}", "allnoconfig"], source, null, null, cancellationToken).ConfigureAwait(false);
        await command.RunAsync(
            "configuring (merge_config.sh)",
            Path.Combine(source, "scripts", "kconfig", "merge_config.sh"),
            ["-m", "-O", objects, Path.Combine(objects, ".config"), fragment],
            source,
            null,
            null,
            cancellationToken).ConfigureAwait(false);
        await command.RunAsync("configuring (olddefconfig)", "make", [Architecture, $"O={objects}", "olddefconfig"], source, null, null, cancellationToken).ConfigureAwait(false);

        var dropped = config.FindDropped(await File.ReadAllTextAsync(Path.Combine(objects, ".config"), cancellationToken).ConfigureAwait(false));
        if (dropped.Count > 0)
        {
            throw new VmPsException(
                VmPsErrorIds.KernelConfigRejected,
                VmPsErrorKind.InvalidData,
                $"olddefconfig dropped {dropped.Count} setting(s) of the config fragment (a dependency is off, or the option does not exist in this source):{Environment.NewLine}{string.Join(Environment.NewLine, dropped)}",
                fragment)
            {
                RecommendedAction = "Add the options they depend on to the fragment (make menuconfig shows the dependencies), or remove them.",
            };
        }
    }

    /// <summary>make bzImage (which makes vmlinux first); returns the number of output lines, for the next build's estimate.</summary>
    private async Task<int> CompileAsync(KernelBuildCommand command, string source, string objects, Action<string, int> report, CancellationToken cancellationToken)
    {
        var expected = cache.Current?.CompileSteps is > 0 and var previous ? previous : DefaultCompileSteps;
        var steps = 0;
        report("Compiling", 17);
        await command.RunAsync(
            "compiling",
            "make",
            [Architecture, $"O={objects}", $"-j{options.Jobs.ToString(CultureInfo.InvariantCulture)}", "bzImage"],
            source,
            line =>
            {
                // kbuild prints one "  CC      fs/ext4/inode.o" line per step.
                if (BuildStepLine().Match(line) is { Success: true } step)
                {
                    var done = Interlocked.Increment(ref steps);
                    var percent = 17 + (int)(80 * Math.Min(0.99, (double)done / expected));
                    report($"Compiling ({done} of about {expected} steps): {step.Groups["what"].Value.Replace(objects + "/", "", StringComparison.Ordinal)}", percent);
                }
            },
            null,
            cancellationToken).ConfigureAwait(false);
        return steps;
    }

    private static async Task<string> ReadReleaseAsync(KernelBuildCommand command, string source, string objects, CancellationToken cancellationToken)
    {
        string? release = null;
        await command.RunAsync("reading the kernel release", "make", ["-s", Architecture, $"O={objects}", "kernelrelease"], source, line => release ??= line.Trim(), null, cancellationToken)
            .ConfigureAwait(false);
        return release ?? throw new VmPsException(VmPsErrorIds.KernelBuildFailed, VmPsErrorKind.InvalidOperation, "make kernelrelease printed nothing.", source);
    }

    /// <summary>
    /// Both images must exist and carry the release just built; reading the vmlinux's version also checks that it is
    /// an x86-64 ELF file with its PVH entry note, which direct boot needs.
    /// </summary>
    private static async Task CheckImagesAsync(string bzImage, string vmlinux, string release, CancellationToken cancellationToken)
    {
        foreach (var image in new[] { bzImage, vmlinux })
        {
            var version = File.Exists(image) ? await KernelLocator.ReadVersionAsync(image, cancellationToken).ConfigureAwait(false) : null;
            if (version != release)
            {
                throw new VmPsException(
                    VmPsErrorIds.KernelBuildFailed,
                    VmPsErrorKind.InvalidData,
                    version is null ? $"The build did not produce {image}." : $"{image} is kernel {version}, not the {release} just built.",
                    image);
            }
        }
    }

    /// <summary>Assembles the entry in a stage directory (every file flushed, the manifest last), then publishes it.</summary>
    private async Task<VmPsKernel> PublishAsync(VmPsKernel kernel, string bzImage, string vmlinux, string builtConfig, KernelConfigFragment fragment, CancellationToken cancellationToken)
    {
        var stage = cache.CreateWorkDirectory(KernelCache.StageDirectoryPrefix, kernel.Key);
        try
        {
            await CacheFiles.CopyDurablyAsync(bzImage, Path.Combine(stage, VmPsKernel.BzImageFileName), cancellationToken).ConfigureAwait(false);
            await CacheFiles.CopyDurablyAsync(vmlinux, Path.Combine(stage, VmPsKernel.VmlinuxFileName), cancellationToken).ConfigureAwait(false);
            await CacheFiles.CopyDurablyAsync(builtConfig, Path.Combine(stage, VmPsKernel.ConfigFileName), cancellationToken).ConfigureAwait(false);
            CacheFiles.WriteDurably(Path.Combine(stage, VmPsKernel.FragmentFileName), Encoding.UTF8.GetBytes(fragment.Text));
            kernel.WriteManifest(stage);
            cancellationToken.ThrowIfCancellationRequested();
            return cache.Publish(stage, kernel.Key);
        }
        finally
        {
            TryDelete(stage);
        }
    }

    /// <summary>A full disk shows up as an IOException (ENOSPC) here or in a tool's output: reported as KernelBuildNoSpace.</summary>
    private async Task<T> RunStepAsync<T>(Func<Task<T>> step, CancellationToken cancellationToken)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (IOException ex) when (IsDiskFull(ex.HResult, ex.Message) && !cancellationToken.IsCancellationRequested)
        {
            throw KernelBuildPrerequisites.NoSpace(cache.Directory, ex.Message);
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.KernelBuildFailed && (IsDiskFull(0, ex.Message) || KernelBuildPrerequisites.IsNearlyFull(cache.Directory)))
        {
            // Tools word it their own way (tar: "Wrote only 3072 of 10240 bytes"), so the file system is asked too.
            throw KernelBuildPrerequisites.NoSpace(cache.Directory, $"the file system is full. {ex.Message}");
        }
    }

    private Task RunStepAsync(Func<Task> step, CancellationToken cancellationToken) =>
        RunStepAsync(async () =>
        {
            await step().ConfigureAwait(false);
            return true;
        }, cancellationToken);

    // ENOSPC (28) and EDQUOT (122), as .NET reports them in HResult on Unix.
    private static bool IsDiskFull(int hresult, string message) =>
        (hresult & 0xFFFF) is 28 or 122 || message.Contains("No space left on device", StringComparison.Ordinal) || message.Contains("Disk quota exceeded", StringComparison.Ordinal);

    [GeneratedRegex(@"^  (?<tag>[A-Z][A-Z0-9_]*) +(?<what>\S.*)\z")]
    private static partial Regex BuildStepLine();
}
