using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Kernels;

/// <summary>
/// What a kernel build needs on the host, checked before anything is extracted: the programs and headers of
/// the kernel's build (each named with the Debian package that provides it) and enough free disk space.
/// </summary>
internal static class KernelBuildPrerequisites
{
    private static readonly (string Program, string Package)[] Programs =
    [
        ("make", "make"),
        ("gcc", "gcc"),
        ("ld", "binutils"),
        ("bc", "bc"),
        ("bison", "bison"),
        ("flex", "flex"),
        ("tar", "tar"),
        ("setsid", "util-linux"),
        ("nice", "coreutils"),
    ];

    // objtool (built for every x86-64 kernel) includes gelf.h.
    private static readonly (string Header, string Package)[] Headers = [("/usr/include/gelf.h", "libelf-dev")];

    private static readonly Dictionary<string, (string Program, string Package)> Decompressors = new(StringComparer.Ordinal)
    {
        ["-J"] = ("xz", "xz-utils"),
        ["-j"] = ("bzip2", "bzip2"),
        ["-z"] = ("gzip", "gzip"),
    };

    /// <summary>Throws KernelBuildToolsMissing naming every missing program and header with its package.</summary>
    public static void CheckTools(KernelSource source, string? searchPath)
    {
        var path = searchPath ?? HostToolCatalog.DefaultSearchPath();
        var missing = Programs.Append(Decompressors[source.TarCompressionFlag])
            .Where(tool => DetachedProcess.FindOnPath(tool.Program, path) is null)
            .Select(tool => (What: tool.Program, tool.Package))
            .Concat(Headers.Where(header => !File.Exists(header.Header)).Select(header => (What: header.Header, header.Package)))
            .ToList();
        if (missing.Count > 0)
        {
            var packages = string.Join(' ', missing.Select(item => item.Package).Distinct());
            throw new VmPsException(
                VmPsErrorIds.KernelBuildToolsMissing,
                VmPsErrorKind.NotInstalled,
                $"Building the kernel needs {string.Join(", ", missing.Select(item => $"{item.What} ({item.Package})"))}, which {(missing.Count == 1 ? "is" : "are")} not installed.",
                packages)
            {
                RecommendedAction = $"Install them: apt-get install {packages}",
            };
        }
    }

    /// <summary>Throws KernelBuildNoSpace when the file system of <paramref name="directory"/> has less than <paramref name="neededBytes"/> free.</summary>
    public static void CheckSpace(string directory, long neededBytes)
    {
        var free = FreeBytes(directory);
        if (free < neededBytes)
        {
            throw NoSpace(directory, $"it needs about {Mebibytes(neededBytes)} MiB free and has {Mebibytes(free)} MiB");
        }
    }

    /// <summary>True when the file system of <paramref name="directory"/> has less than 16 MiB free: what a build that ran out of space leaves.</summary>
    public static bool IsNearlyFull(string directory) => FreeBytes(directory) < (16L << 20);

    public static VmPsException NoSpace(string directory, string detail) =>
        new(VmPsErrorIds.KernelBuildNoSpace, VmPsErrorKind.ResourceUnavailable, $"Not enough disk space to build the kernel in {directory}: {detail}.", directory)
        {
            RecommendedAction = "Free some space on that file system (or set $env:VMPS_HOME to a state directory on another one) and build again.",
        };

    private static long Mebibytes(long bytes) => bytes >> 20;

    private static long FreeBytes(string directory) => new DriveInfo(directory).AvailableFreeSpace;
}
