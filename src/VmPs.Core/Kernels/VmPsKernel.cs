using System.Text.Json;
using System.Text.Json.Serialization;
using VmPs.Core.Host;

namespace VmPs.Core.Kernels;

/// <summary>
/// A VmPs guest kernel in the kernel cache (Build-VmKernel's output, VmPs.VmKernel): one directory holding the
/// bzImage, the uncompressed vmlinux (PVH entry, for direct boot), the .config it was built with, the fragment
/// and this manifest (kernel.json), which is written last.
/// </summary>
public sealed record VmPsKernel
{
    public const string ManifestFileName = "kernel.json";
    public const string BzImageFileName = "bzImage";
    public const string VmlinuxFileName = "vmlinux";
    public const string ConfigFileName = "config";
    public const string FragmentFileName = "vmps.config";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>The cache key: the source version and the config hash ("6.1.192-3-1a2b3c4d5e6f").</summary>
    public required string Key { get; init; }

    /// <summary>The kernel release (uname -r in the guest), for example 6.1.192-vmps.</summary>
    public required string Release { get; init; }

    public required string SourcePath { get; init; }

    public required string SourceVersion { get; init; }

    /// <summary>The hash of the merged config fragment and the build recipe (lowercase hex).</summary>
    public required string ConfigHash { get; init; }

    public required DateTimeOffset BuiltAt { get; init; }

    /// <summary>How long the build took, extraction and compilation included.</summary>
    public required TimeSpan BuildDuration { get; init; }

    /// <summary>Output lines of the compile step; the next build's progress bar uses it as its estimate.</summary>
    public required int CompileSteps { get; init; }

    /// <summary>The cache entry's directory; not stored (the manifest is valid wherever the entry is).</summary>
    [JsonIgnore]
    public string Directory { get; init; } = "";

    [JsonIgnore]
    public string BzImagePath => Path.Combine(Directory, BzImageFileName);

    [JsonIgnore]
    public string VmlinuxPath => Path.Combine(Directory, VmlinuxFileName);

    [JsonIgnore]
    public string ConfigPath => Path.Combine(Directory, ConfigFileName);

    /// <summary>The kernel as VM boots use it: the bzImage, the vmlinux for direct boot, no modules (all built in).</summary>
    public KernelInfo ToKernelInfo() => new(BzImagePath, Release, ModulesDirectory: null, VmlinuxPath);

    /// <summary>
    /// The entry in <paramref name="directory"/>, or null when it is not a complete entry (no manifest, a manifest
    /// that does not parse, or a kernel file missing): such a directory is never booted.
    /// </summary>
    public static VmPsKernel? Load(string directory)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<VmPsKernel>(File.ReadAllText(Path.Combine(directory, ManifestFileName)), JsonOptions);
            var kernel = manifest is null ? null : manifest with { Directory = directory };
            return kernel is not null && File.Exists(kernel.BzImagePath) && File.Exists(kernel.VmlinuxPath) ? kernel : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    internal void WriteManifest(string directory) =>
        CacheFiles.WriteDurably(Path.Combine(directory, ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions));
}
