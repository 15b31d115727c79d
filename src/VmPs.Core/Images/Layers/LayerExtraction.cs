using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Archives;

namespace VmPs.Core.Images.Layers;

/// <summary>
/// The state of applying one layer: which paths this layer created (whiteouts and opaque markers only hide
/// lower layers' content), directory times to set once their contents are written, and warnings. Device nodes
/// become placeholders recorded in <paramref name="devices"/>, never nodes on the host.
/// </summary>
internal sealed class LayerExtraction(LayerRoot root, string layerDigest, DeviceNodeTable devices)
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const uint FifoType = 0x1000;
    private static readonly bool IsRoot = LinuxFileSystem.IsRoot;

    private readonly HashSet<string> pathsInThisLayer = new(StringComparer.Ordinal);
    private readonly List<(IReadOnlyList<string> Components, DateTimeOffset Time)> directoryTimes = [];
    private readonly List<string> warnings = [];
    private bool ownershipWarned;

    public IReadOnlyList<string> Warnings => warnings;

    public async Task ApplyAsync(TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        var components = root.Normalize(entry.Name);
        try
        {
            if (components.Count == 0)
            {
                ApplyToRoot(entry);
            }
            else if (components[^1] == OpaqueMarker)
            {
                ClearLowerContent(components, entry.Name);
            }
            else if (components[^1].StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                WhiteOut(components, entry.Name);
            }
            else
            {
                RecordInThisLayer(components);
                using var parent = root.OpenParent(components, entry.Name, createMissing: true)!;
                await CreateAsync(parent, components, entry, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (IOException ex)
        {
            throw Failure(entry.Name, ex);
        }
    }

    /// <summary>Directory times last: creating their contents changed them.</summary>
    public void SetDirectoryTimes()
    {
        foreach (var (components, time) in directoryTimes)
        {
            var name = string.Join('/', components);
            try
            {
                using var parent = components.Count == 0 ? root.RootAsEntry() : root.OpenParent(components, name, createMissing: false);
                if (parent is not null && LinuxFileSystem.TypeOf(parent.Fd, parent.Name) == LinuxFileType.Directory)
                {
                    LinuxFileSystem.SetModificationTime(parent.Fd, parent.Name, time);
                }
            }
            catch (IOException ex)
            {
                throw Failure(name, ex);
            }
        }
    }

    private void ApplyToRoot(TarArchiveEntry entry)
    {
        if (entry.Kind != TarEntryKind.Directory)
        {
            throw new VmPsException(
                "InvalidLayerEntry",
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: entry '{entry.Name}' names the root directory but is a {entry.Kind}.",
                entry.Name);
        }

        using var rootEntry = root.RootAsEntry();
        ApplyMetadata(rootEntry, entry);
        directoryTimes.Add(([], entry.ModificationTime));
    }

    private async Task CreateAsync(ParentDirectory parent, IReadOnlyList<string> components, TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        switch (entry.Kind)
        {
            case TarEntryKind.Directory:
                if (LinuxFileSystem.TypeOf(parent.Fd, parent.Name) != LinuxFileType.Directory)
                {
                    LayerRoot.Remove(parent.Fd, parent.Name);
                    LinuxFileSystem.MakeDirectory(parent.Fd, parent.Name);
                }

                ApplyMetadata(parent, entry);
                directoryTimes.Add((components, entry.ModificationTime));
                return;
            case TarEntryKind.File:
                LayerRoot.Remove(parent.Fd, parent.Name);
                await WriteFileAsync(parent, entry, cancellationToken).ConfigureAwait(false);
                break;
            case TarEntryKind.SymbolicLink:
                LayerRoot.Remove(parent.Fd, parent.Name);
                LinuxFileSystem.MakeSymbolicLink(entry.LinkName, parent.Fd, parent.Name);
                break;
            case TarEntryKind.HardLink:
                LinkToEarlierEntry(parent, entry);
                return;
            case TarEntryKind.CharacterDevice or TarEntryKind.BlockDevice:
                LayerRoot.Remove(parent.Fd, parent.Name);
                var inode = LinuxFileSystem.CreatePlaceholder(parent.Fd, parent.Name);
                devices.Add(inode, entry.Kind == TarEntryKind.BlockDevice, entry.DeviceMajor, entry.DeviceMinor, entry.Mode);
                break;
            case TarEntryKind.Fifo:
                LayerRoot.Remove(parent.Fd, parent.Name);
                LinuxFileSystem.MakeNode(parent.Fd, parent.Name, FifoType, 0, 0);
                break;
            default:
                warnings.Add($"Layer {layerDigest}: entry '{entry.Name}' of tar type '{entry.TypeFlag}' skipped.");
                return;
        }

        ApplyMetadata(parent, entry);
        LinuxFileSystem.SetModificationTime(parent.Fd, parent.Name, entry.ModificationTime);
    }

    private static async Task WriteFileAsync(ParentDirectory parent, TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        using var handle = new SafeFileHandle(LinuxFileSystem.CreateFile(parent.Fd, parent.Name), ownsHandle: true);
        await using var file = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        await entry.Data.CopyToAsync(file, 1 << 16, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A hardlink shares the inode of an entry this or an earlier layer wrote; its target must be inside the root too.</summary>
    private void LinkToEarlierEntry(ParentDirectory parent, TarArchiveEntry entry)
    {
        var description = $"{entry.Name} (hardlink to {entry.LinkName})";
        var targetComponents = root.Normalize(entry.LinkName, description);
        using var target = targetComponents.Count == 0 ? null : root.OpenParent(targetComponents, description, createMissing: false);
        var targetType = targetComponents.Count == 0 ? LinuxFileType.Directory
            : target is null ? LinuxFileType.Missing
            : LinuxFileSystem.TypeOf(target.Fd, target.Name);
        if (targetType is LinuxFileType.Missing or LinuxFileType.Directory)
        {
            throw new VmPsException(
                "LayerHardLinkTargetInvalid",
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: entry '{description}': the target {(targetType == LinuxFileType.Missing ? "does not exist" : "is a directory")}.",
                entry.Name);
        }

        LayerRoot.Remove(parent.Fd, parent.Name);
        LinuxFileSystem.MakeHardLink(target!.Fd, target.Name, parent.Fd, parent.Name);
    }

    /// <summary>
    /// Ownership first: chown clears setuid bits and file capabilities, so mode and xattrs follow it. A device
    /// placeholder keeps mode 0000 (its mode is in the device table).
    /// </summary>
    private void ApplyMetadata(ParentDirectory parent, TarArchiveEntry entry)
    {
        if (IsRoot)
        {
            LinuxFileSystem.ChangeOwner(parent.Fd, parent.Name, entry.Uid, entry.Gid);
        }
        else if (!ownershipWarned)
        {
            ownershipWarned = true;
            warnings.Add($"Layer {layerDigest}: file owners not applied: setting them needs root, so every file belongs to the current user.");
        }

        if (entry.Kind is not (TarEntryKind.SymbolicLink or TarEntryKind.CharacterDevice or TarEntryKind.BlockDevice))
        {
            LinuxFileSystem.ChangeMode(parent.Fd, parent.Name, entry.Mode);
        }

        foreach (var (name, value) in entry.ExtendedAttributes)
        {
            try
            {
                LinuxFileSystem.SetExtendedAttribute(parent.Fd, parent.Name, name, value);
            }
            catch (IOException ex)
            {
                warnings.Add($"Layer {layerDigest}: extended attribute {name} of '{entry.Name}' not set: {ex.Message}");
            }
        }
    }

    /// <summary>".wh.NAME" deletes NAME of lower layers.</summary>
    private void WhiteOut(IReadOnlyList<string> components, string entryName)
    {
        var hidden = components[^1][WhiteoutPrefix.Length..];
        if (hidden is "" or "." or "..")
        {
            throw new VmPsException(
                "InvalidLayerEntry",
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: whiteout '{entryName}' names no file.",
                entryName);
        }

        var hiddenComponents = components.Take(components.Count - 1).Append(hidden).ToList();
        if (pathsInThisLayer.Contains(string.Join('/', hiddenComponents)))
        {
            return;
        }

        using var parent = root.OpenParent(hiddenComponents, entryName, createMissing: false);
        if (parent is not null)
        {
            LayerRoot.Remove(parent.Fd, parent.Name);
        }
    }

    /// <summary>".wh..wh..opq" empties its directory of lower layers' content; this layer's entries stay.</summary>
    private void ClearLowerContent(IReadOnlyList<string> components, string entryName)
    {
        var directory = components.Take(components.Count - 1).ToList();
        RecordInThisLayer(directory);
        using var parent = root.OpenParent(components, entryName, createMissing: true)!;
        var prefix = directory.Count == 0 ? "" : string.Join('/', directory) + "/";
        foreach (var child in LayerRoot.ListNames(parent.Fd))
        {
            if (!pathsInThisLayer.Contains(prefix + child))
            {
                LayerRoot.Remove(parent.Fd, child);
            }
        }
    }

    private VmPsException Failure(string entryName, IOException ex) => new(
        "LayerApplyFailed",
        VmPsErrorKind.InvalidOperation,
        $"Layer {layerDigest}: cannot apply entry '{entryName}': {ex.Message}",
        entryName,
        ex);

    /// <summary>Records the path and its parents (a parent an archive omits is still this layer's).</summary>
    private void RecordInThisLayer(IReadOnlyList<string> components)
    {
        for (var length = 1; length <= components.Count; length++)
        {
            pathsInThisLayer.Add(string.Join('/', components.Take(length)));
        }
    }
}
