namespace VmPs.Core.Boot;

/// <summary>One loadable module file of a kernel, as listed in modules.dep.</summary>
/// <param name="Name">Module name as the kernel sees it (dashes folded to underscores).</param>
/// <param name="Path">Absolute path of the file, possibly compressed (.ko.xz, .ko.zst, .ko.gz).</param>
/// <param name="FileName">File name to load in the guest: the uncompressed ".ko" name.</param>
/// <param name="Dependencies">The guest file names of the modules to load before it (built-in ones left out), in load order.</param>
public sealed record KernelModuleFile(string Name, string Path, string FileName, IReadOnlyList<string> Dependencies)
{
    public KernelModuleCompression Compression => KernelModuleNames.CompressionOf(Path);
}

public enum KernelModuleCompression
{
    None,
    Gzip,
    Xz,
    Zstd,
}

/// <summary>
/// Resolves module names to files in load order from /lib/modules/VERSION/modules.dep and
/// modules.builtin, the way modprobe does, without running it (it may not exist on the host, and the
/// kernel may not be the running one).
/// </summary>
public sealed class KernelModuleResolver
{
    private readonly string modulesDirectory;
    private readonly Dictionary<string, ModuleEntry> modules;
    private readonly HashSet<string> builtin;

    private KernelModuleResolver(string modulesDirectory, Dictionary<string, ModuleEntry> modules, HashSet<string> builtin)
    {
        this.modulesDirectory = modulesDirectory;
        this.modules = modules;
        this.builtin = builtin;
    }

    /// <summary>
    /// The modules the VmPs guest needs from a distro kernel; built-in ones are skipped. button and evdev
    /// let the guest see the ACPI power button (a KEY_POWER event on /dev/input/eventN), so a power
    /// button press can shut it down gracefully. veth joins the instance metadata service's network namespace
    /// to the VM's. virtio_mem takes the memory Set-Vm plugs into a running q35 VM.
    /// </summary>
    public static IReadOnlyList<string> GuestModules { get; } =
    [
        "virtio_mmio",
        "virtio_pci",
        "virtio_blk",
        "virtio_net",
        "virtio_console",
        "virtio_rng",
        "erofs",
        "overlay",
        "vmw_vsock_virtio_transport",
        "loop",
        "virtiofs",
        "button",
        "evdev",
        "veth",
        "virtio_mem",
    ];

    public static async Task<KernelModuleResolver> LoadAsync(string modulesDirectory, CancellationToken cancellationToken)
    {
        var depPath = Path.Combine(modulesDirectory, "modules.dep");
        if (!File.Exists(depPath))
        {
            throw new VmPsException(
                VmPsErrorIds.KernelModulesNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"'{depPath}' does not exist: the kernel's modules are not installed (or depmod was never run for it).",
                modulesDirectory)
            {
                RecommendedAction = "Install the linux-modules/linux-image package matching the kernel, or pass a kernel with the needed drivers built in.",
            };
        }

        var modules = new Dictionary<string, ModuleEntry>(StringComparer.Ordinal);
        foreach (var line in await File.ReadAllLinesAsync(depPath, cancellationToken).ConfigureAwait(false))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var relativePath = line[..colon];
            var dependencies = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            modules[KernelModuleNames.NameOf(relativePath)] = new ModuleEntry(relativePath, dependencies);
        }

        var builtin = new HashSet<string>(StringComparer.Ordinal);
        var builtinPath = Path.Combine(modulesDirectory, "modules.builtin");
        if (File.Exists(builtinPath))
        {
            foreach (var line in await File.ReadAllLinesAsync(builtinPath, cancellationToken).ConfigureAwait(false))
            {
                if (line.Length > 0)
                {
                    builtin.Add(KernelModuleNames.NameOf(line));
                }
            }
        }

        return new KernelModuleResolver(modulesDirectory, modules, builtin);
    }

    /// <summary>
    /// The files to load for <paramref name="moduleNames"/>, each after everything it depends on, each
    /// once; modules built into the kernel are left out.
    /// </summary>
    public IReadOnlyList<KernelModuleFile> Resolve(IEnumerable<string> moduleNames)
    {
        var ordered = new List<KernelModuleFile>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var requested in moduleNames)
        {
            var name = KernelModuleNames.Normalize(requested);
            if (modules.ContainsKey(name))
            {
                Visit(name, ordered, visited);
            }
            else if (!builtin.Contains(name))
            {
                throw new VmPsException(
                    VmPsErrorIds.KernelModuleNotFound,
                    VmPsErrorKind.ObjectNotFound,
                    $"Kernel module '{requested}' is neither a module nor built in for the kernel in '{modulesDirectory}'.",
                    requested)
                {
                    RecommendedAction = "Use a kernel that provides the virtio, erofs, overlay and vsock drivers (any Debian or Ubuntu distro kernel does).",
                };
            }
        }

        return ordered;
    }

    private void Visit(string name, List<KernelModuleFile> ordered, HashSet<string> visited)
    {
        if (!visited.Add(name))
        {
            return;
        }

        var entry = modules[name];
        var dependencies = new List<string>();
        // modules.dep lists the complete dependency closure with the module to load first at the end.
        for (var i = entry.Dependencies.Count - 1; i >= 0; i--)
        {
            var dependency = KernelModuleNames.NameOf(entry.Dependencies[i]);
            if (modules.ContainsKey(dependency))
            {
                Visit(dependency, ordered, visited);
                dependencies.Add(KernelModuleNames.UncompressedFileName(entry.Dependencies[i]));
            }
        }

        var path = Path.Combine(modulesDirectory, entry.RelativePath);
        ordered.Add(new KernelModuleFile(name, path, KernelModuleNames.UncompressedFileName(path), dependencies));
    }

    private sealed record ModuleEntry(string RelativePath, IReadOnlyList<string> Dependencies);
}

internal static class KernelModuleNames
{
    private static readonly (string Suffix, KernelModuleCompression Compression)[] Suffixes =
    [
        (".ko.xz", KernelModuleCompression.Xz),
        (".ko.zst", KernelModuleCompression.Zstd),
        (".ko.gz", KernelModuleCompression.Gzip),
        (".ko", KernelModuleCompression.None),
    ];

    /// <summary>"kernel/drivers/char/hw_random/virtio-rng.ko.xz" -> "virtio_rng".</summary>
    public static string NameOf(string modulePath)
    {
        var fileName = Path.GetFileName(modulePath);
        return Normalize(fileName[..^SuffixOf(fileName).Length]);
    }

    public static string Normalize(string name) => name.Replace('-', '_');

    public static string UncompressedFileName(string modulePath)
    {
        var fileName = Path.GetFileName(modulePath);
        return fileName[..^SuffixOf(fileName).Length] + ".ko";
    }

    public static KernelModuleCompression CompressionOf(string modulePath)
    {
        var fileName = Path.GetFileName(modulePath);
        return Suffixes.FirstOrDefault(entry => fileName.EndsWith(entry.Suffix, StringComparison.Ordinal)).Compression;
    }

    private static string SuffixOf(string fileName) =>
        Suffixes.Select(entry => entry.Suffix).FirstOrDefault(suffix => fileName.EndsWith(suffix, StringComparison.Ordinal)) ?? string.Empty;
}
