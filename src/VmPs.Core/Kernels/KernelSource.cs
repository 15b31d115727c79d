using System.Security.Cryptography;
using System.Text.RegularExpressions;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Kernels;

/// <summary>
/// A kernel source tarball, such as Debian's linux-source-6.1 package installs (/usr/src/linux-source-6.1.tar.xz),
/// and its version: the Debian package's version when dpkg owns the file (so a security update gives a new
/// version), else "sha256-" and the start of the file's hash.
/// </summary>
public sealed partial record KernelSource(string Path, string Version)
{
    public const string DefaultDirectory = "/usr/src";

    private const string Package = "linux-source-6.1";

    /// <summary>The tar compression flag for each supported file name ending.</summary>
    private static readonly (string Suffix, string TarFlag)[] Compressions = [(".tar.xz", "-J"), (".tar.bz2", "-j"), (".tar.gz", "-z")];

    /// <summary>The tar flag that decompresses this tarball.</summary>
    internal string TarCompressionFlag => Compressions.First(compression => Path.EndsWith(compression.Suffix, StringComparison.Ordinal)).TarFlag;

    /// <summary>The newest linux-source-VERSION.tar.* in <paramref name="directory"/>, or null.</summary>
    public static string? FindDefault(string directory = DefaultDirectory)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }

        return Directory.EnumerateFiles(directory, "linux-source-*.tar.*")
            .Where(path => Compressions.Any(compression => path.EndsWith(compression.Suffix, StringComparison.Ordinal)))
            .OrderByDescending(path => System.IO.Path.GetFileName(path), KernelVersionComparer.Instance)
            .FirstOrDefault();
    }

    /// <summary>Describes <paramref name="path"/> (null: <see cref="FindDefault"/>), failing with a clear error when it is missing or not a tarball.</summary>
    public static async Task<KernelSource> ResolveAsync(string? path, CancellationToken cancellationToken)
    {
        var tarball = path is null
            ? FindDefault() ?? throw new VmPsException(
                VmPsErrorIds.KernelSourceNotFound,
                VmPsErrorKind.NotInstalled,
                $"No kernel source tarball (linux-source-VERSION.tar.xz) in {DefaultDirectory}.",
                DefaultDirectory)
            {
                RecommendedAction = $"Install it (apt-get install {Package}) or pass -SourcePath.",
            }
            : System.IO.Path.GetFullPath(path);

        if (!File.Exists(tarball))
        {
            throw new VmPsException(VmPsErrorIds.KernelSourceNotFound, VmPsErrorKind.ObjectNotFound, $"The kernel source '{tarball}' does not exist.", tarball);
        }

        if (!Compressions.Any(compression => tarball.EndsWith(compression.Suffix, StringComparison.Ordinal)))
        {
            throw new VmPsException(
                VmPsErrorIds.KernelSourceUnsupported,
                VmPsErrorKind.InvalidArgument,
                $"The kernel source '{tarball}' is not a .tar.xz, .tar.bz2 or .tar.gz file.",
                tarball);
        }

        var version = await PackageVersionAsync(tarball, cancellationToken).ConfigureAwait(false)
            ?? "sha256-" + (await HashAsync(tarball, cancellationToken).ConfigureAwait(false))[..16];
        return new KernelSource(tarball, version);
    }

    /// <summary>The version of the Debian package that installed the file, or null (no dpkg, or not a packaged file).</summary>
    private static async Task<string?> PackageVersionAsync(string tarball, CancellationToken cancellationToken)
    {
        if (DetachedProcess.FindOnPath("dpkg-query") is not { } dpkgQuery)
        {
            return null;
        }

        // "linux-source-6.1: /usr/src/linux-source-6.1.tar.xz"
        var owner = await ExternalTool.RunAsync(dpkgQuery, ["-S", tarball], cancellationToken).ConfigureAwait(false);
        var package = owner.ExitCode == 0 ? owner.StandardOutput.Split(':', 2)[0].Trim() : "";
        if (!PackageName().IsMatch(package))
        {
            return null;
        }

        var version = await ExternalTool.RunAsync(dpkgQuery, ["-W", "-f=${Version}", package], cancellationToken).ConfigureAwait(false);
        var text = version.StandardOutput.Trim();
        return version.ExitCode == 0 && PackageVersion().IsMatch(text) ? text : null;
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexString(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false)).ToLowerInvariant();
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9.+-]*\z")]
    private static partial Regex PackageName();

    // Debian versions: [epoch:]upstream[-revision]. The colon is kept out: the version names a directory.
    [GeneratedRegex(@"^[0-9][A-Za-z0-9.+~-]*\z")]
    private static partial Regex PackageVersion();
}
