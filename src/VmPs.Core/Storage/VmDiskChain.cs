using VmPs.Core.Hypervisors;
using VmPs.Core.State;
using VmPs.Core.Volumes;

namespace VmPs.Core.Storage;

/// <summary>
/// A VM's own disk as a qcow2 chain, for copy-on-write checkpoints where the file system cannot reflink. The file
/// the VM writes (its row's disk_file) is frozen where it lies and a new qcow2 file under a fresh name goes on top
/// of it; checkpoints, restores and forks read the frozen files. No file of the chain is ever renamed or replaced:
/// a running hypervisor holds its images by name and reopens them by name (QEMU does when it resumes after a
/// migration to file), and the backing names in the qcow2 headers must keep resolving. Backing names are bare file
/// names, relative to the file's own directory, so a fork's hard links of a chain in its directory resolve there;
/// a frozen file stays on disk while any VM links it, and each VM deletes only the files nothing of its own reads.
/// </summary>
internal static class VmDiskChain
{
    private const string TopPrefix = "disk-";

    /// <summary>A fresh name for a new file of the VM's disk in <paramref name="format"/>.</summary>
    public static string NewName(DiskImageFormat format) => $"{TopPrefix}{Guid.NewGuid():N}{Path.GetExtension(VmFiles.OverlayDiskName(format))}";

    /// <summary>The container of a chain file, by its name (a chain file's name is one of ours, never a header's word).</summary>
    public static DiskImageFormat FormatOf(string name) => Path.GetExtension(name) == ".qcow2" ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;

    /// <summary>
    /// Makes the private qcow2 file <paramref name="name"/> (a fresh name, <see cref="NewName"/>) of
    /// <paramref name="sizeBytes"/> over the chain file <paramref name="backingName"/>.
    /// </summary>
    public static void NewTop(VmFiles files, string name, string backingName, long sizeBytes) =>
        Qcow2Overlay.Create(files.Disk(name), sizeBytes, new BackingImage(backingName, FormatOf(backingName)));

    /// <summary>Makes a frozen file writable by nobody: nothing writes it once a file over it is the VM's disk.</summary>
    public static void Seal(VmFiles files, string name) => VolumeFiles.MakeReadOnly(files.Disk(name));

    /// <summary>Hard-links the chain file <paramref name="name"/> and every file below it into <paramref name="destination"/>'s directory.</summary>
    public static async Task LinkChainAsync(VmFiles source, string name, VmFiles destination, CancellationToken cancellationToken)
    {
        foreach (var file in await ChainAsync(source, name, cancellationToken).ConfigureAwait(false))
        {
            VolumeFiles.HardLink(source.Disk(file), destination.Disk(file));
        }
    }

    /// <summary>
    /// Deletes the VM's disk files that none of <paramref name="roots"/> (its disk file and its checkpoints' frozen
    /// files) reads, directly or through the files below it: what a restore, a removed checkpoint or a killed
    /// operation left behind.
    /// </summary>
    public static async Task DeleteUnusedAsync(VmFiles files, IEnumerable<string> roots, CancellationToken cancellationToken)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            used.UnionWith(await ChainAsync(files, root, cancellationToken).ConfigureAwait(false));
        }

        var candidates = Directory.EnumerateFiles(files.Directory, TopPrefix + "*")
            .Concat([files.Disk(VmFiles.OverlayDiskName(DiskImageFormat.Raw)), files.Disk(VmFiles.OverlayDiskName(DiskImageFormat.Qcow2))]);
        foreach (var path in candidates.Where(path => !used.Contains(Path.GetFileName(path))))
        {
            File.Delete(path);
        }
    }

    /// <summary>The file and the files below it, by name; only chain files in the VM's directory are followed, never another path a header names.</summary>
    private static async Task<List<string>> ChainAsync(VmFiles files, string name, CancellationToken cancellationToken)
    {
        var chain = new List<string>();
        string? next = name;
        while (next is not null && IsChainName(next) && !chain.Contains(next) && File.Exists(files.Disk(next)))
        {
            chain.Add(next);
            next = FormatOf(next) == DiskImageFormat.Qcow2
                ? BackingName(files, next, (await QemuImage.InfoAsync(files.Disk(next), DiskImageFormat.Qcow2, cancellationToken).ConfigureAwait(false)).BackingFile)
                : null;
        }

        return chain;
    }

    /// <summary>
    /// The name in the VM's directory of the file <paramref name="name"/> reads from (qemu-img resolves it); a file of
    /// ours never names another place, so one that does is refused rather than followed or taken as the chain's end
    /// (which would let the files below it be deleted as unused).
    /// </summary>
    private static string? BackingName(VmFiles files, string name, string? backing) =>
        backing is null ? null
            : string.Equals(Path.GetDirectoryName(backing), files.Directory, StringComparison.Ordinal) && IsChainName(Path.GetFileName(backing))
                ? Path.GetFileName(backing)
                : throw new InvalidDataException($"The disk file '{files.Disk(name)}' reads from '{backing}', which is not a disk file of its VM.");

    private static bool IsChainName(string name) =>
        Path.GetFileName(name) == name
        && (name.StartsWith(TopPrefix, StringComparison.Ordinal)
            || name == VmFiles.OverlayDiskName(DiskImageFormat.Raw) || name == VmFiles.OverlayDiskName(DiskImageFormat.Qcow2));
}
