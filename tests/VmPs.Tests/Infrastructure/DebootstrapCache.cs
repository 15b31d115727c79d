using System.Diagnostics;
using System.Formats.Tar;
using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// Debian roots made by debootstrap, kept once per machine as an uncompressed tar (numeric owners, xattrs: a
/// ready image layer), keyed by suite, variant and extra packages. A debootstrap through the apt mirror takes
/// minutes; every later test run on the machine, a CI run of a fresh clone included, reuses the tar. The roots share
/// one package cache (debootstrap --cache-dir), so a package that several roots hold is fetched once per machine. The
/// folder is $VMPS_TEST_CACHE, else /var/cache/vmps-tests (debootstrap needs root); delete a tar to rebuild it.
/// </summary>
internal static class DebootstrapCache
{
    private static readonly TimeSpan LockDeadline = TimeSpan.FromMinutes(30);

    public static string Directory { get; } =
        Environment.GetEnvironmentVariable("VMPS_TEST_CACHE") is { Length: > 0 } named ? named : "/var/cache/vmps-tests";

    /// <summary>
    /// The tar of <c>debootstrap --variant=minbase [--include=...] SUITE</c>, made now unless the machine has it;
    /// <paramref name="log"/> is told which, so the test output says whether the root was cached.
    /// </summary>
    public static async Task<string> MinbaseTarAsync(string suite, IReadOnlyList<string> includes, Action<string> log)
    {
        var packages = includes.Order(StringComparer.Ordinal).ToArray();
        var key = packages.Length == 0 ? $"{suite}-minbase" : $"{suite}-minbase-{string.Join('+', packages)}";
        var tar = Path.Combine(Directory, "debootstrap", key + ".tar");
        string[] options = packages.Length == 0 ? ["--variant=minbase"] : ["--variant=minbase", $"--include={string.Join(',', packages)}"];
        var command = $"debootstrap {string.Join(' ', options)} {suite}";
        var packageCache = Path.Combine(Directory, "debootstrap", "packages");
        System.IO.Directory.CreateDirectory(packageCache);

        // One builder per key on the machine: another test run building the same root is waited for, not repeated.
        using var buildLock = await LockAsync(tar + ".lock");
        if (File.Exists(tar))
        {
            log($"{command}: cached, {tar} (built {File.GetLastWriteTimeUtc(tar):yyyy-MM-dd HH:mm} UTC)");
            return tar;
        }

        var watch = Stopwatch.StartNew();
        var rootfs = $"{tar}.{Environment.ProcessId}.rootfs";
        var partial = $"{tar}.{Environment.ProcessId}.partial";
        try
        {
            // Builders of different roots take turns on the shared package cache, so none reads a package half-written.
            using (await LockAsync(packageCache + ".lock"))
            {
                await ExternalTool.RunCheckedAsync("debootstrap", [.. options, $"--cache-dir={packageCache}", suite, rootfs], CancellationToken.None);
            }

            await ExternalTool.RunCheckedAsync("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, "-cf", partial, "."], CancellationToken.None);
            File.Move(partial, tar);
        }
        finally
        {
            if (System.IO.Directory.Exists(rootfs))
            {
                System.IO.Directory.Delete(rootfs, recursive: true);
            }

            File.Delete(partial);
        }

        log($"{command}: not cached, built in {watch.Elapsed.TotalSeconds:0} s and cached as {tar}");
        return tar;
    }

    /// <summary>The apparent size of the files in a tar (what du -sb reports for the unpacked tree, less directories).</summary>
    public static long ContentBytes(string tar)
    {
        using var reader = new TarReader(File.OpenRead(tar));
        long total = 0;
        while (reader.GetNextEntry() is { } entry)
        {
            total += entry.Length;
        }

        return total;
    }

    // An exclusive lock of the file (flock, released if the process dies), polled within a deadline.
    internal static async Task<FileStream> LockAsync(string path)
    {
        var deadline = DateTime.UtcNow + LockDeadline;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }
}
