using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Archives;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Images.Layers;

/// <summary>
/// Applies one layer's entries to a root opened as a <see cref="ConfinedDirectory"/> in <see cref="Confinement.InRoot"/>
/// mode, the confined writer every host-side tree goes through: the kernel resolves each entry's directory as
/// inside a chroot (absolute links restart at the root, ".." stops at it), so no link or chain of links reaches
/// the host, and the last component is never followed. Keeps which paths this layer created (whiteouts and opaque
/// markers only hide lower layers' content), directory times to set once their contents are written, and warnings.
/// Device nodes become placeholders recorded in <paramref name="devices"/>, never nodes on the host.
/// </summary>
internal sealed class LayerExtraction(ConfinedDirectory root, string layerDigest, DeviceNodeTable devices)
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const UnixFileMode NewFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly HashSet<string> pathsInThisLayer = new(StringComparer.Ordinal);
    private readonly List<(IReadOnlyList<string> Components, DateTimeOffset Time)> directoryTimes = [];
    private readonly List<string> warnings = [];
    private bool ownershipWarned;

    public IReadOnlyList<string> Warnings => warnings;

    public async Task ApplyAsync(TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        var components = Normalize(entry.Name, entry.Name);
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
                using var place = OpenPlace(components, entry.Name, createMissing: true)!;
                await CreateAsync(place, components, entry, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (FileOperationException ex)
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
                using var place = components.Count == 0 ? RootPlace() : OpenPlace(components, name, createMissing: false);
                if (place is not null && KindOf(place) == FileKind.Directory)
                {
                    UnixDirectoryCalls.SetLastWriteTime(place.Directory, place.Name, time);
                }
            }
            catch (FileOperationException ex)
            {
                throw Failure(name, ex);
            }
        }
    }

    /// <summary>
    /// An archive path as components below the root ("./a//b/" -> a, b; "a/../b" -> b); the root itself is empty.
    /// A name that climbs above the root is refused: unlike a link, it has no meaning inside the image.
    /// </summary>
    private IReadOnlyList<string> Normalize(string path, string entryName)
    {
        if (path.StartsWith('/'))
        {
            throw Escape(entryName, "it is an absolute path");
        }

        var components = new List<string>();
        foreach (var component in path.Split('/'))
        {
            if (component is "" or ".")
            {
                continue;
            }

            if (component == "..")
            {
                if (components.Count == 0)
                {
                    throw Escape(entryName, "'..' climbs above the root");
                }

                components.RemoveAt(components.Count - 1);
                continue;
            }

            components.Add(component);
        }

        return components;
    }

    /// <summary>
    /// The directory holding the last of <paramref name="components"/>, resolved by the kernel inside the root, and that
    /// last component. Missing directories on the way are created when <paramref name="createMissing"/> (tar archives
    /// may omit them); otherwise a missing one gives null.
    /// </summary>
    private EntryPlace? OpenPlace(IReadOnlyList<string> components, string entryName, bool createMissing)
    {
        try
        {
            var (directory, name) = root.OpenParent(string.Join('/', components), createMissing);
            return new EntryPlace(directory, name);
        }
        catch (FileOperationException error) when (!createMissing && error.Code == FileErrorCodes.NotFound)
        {
            return null;
        }
        catch (FileOperationException error) when (error.Code == FileErrorCodes.NotADirectory)
        {
            throw new VmPsException(
                VmPsErrorIds.LayerEntryParentNotDirectory,
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: entry '{entryName}' lies below something that is not a directory.",
                entryName,
                error);
        }
    }

    /// <summary>The root itself as an entry: its metadata is changed through the name ".".</summary>
    private EntryPlace RootPlace() => new(root.OpenDirectory(""), ".");

    private static FileKind? KindOf(EntryPlace place) => UnixDirectoryCalls.TryGetStatus(place.Directory, place.Name)?.Kind;

    private void ApplyToRoot(TarArchiveEntry entry)
    {
        if (entry.Kind != TarEntryKind.Directory)
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidLayerEntry,
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: entry '{entry.Name}' names the root directory but is a {entry.Kind}.",
                entry.Name);
        }

        using var place = RootPlace();
        ApplyMetadata(place, entry);
        directoryTimes.Add(([], entry.ModificationTime));
    }

    private async Task CreateAsync(EntryPlace place, IReadOnlyList<string> components, TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        switch (entry.Kind)
        {
            case TarEntryKind.Directory:
                if (KindOf(place) != FileKind.Directory)
                {
                    UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
                    UnixDirectoryCalls.MakeDirectory(place.Directory, place.Name, ConfinedDirectory.DefaultDirectoryMode);
                }

                ApplyMetadata(place, entry);
                directoryTimes.Add((components, entry.ModificationTime));
                return;
            case TarEntryKind.File:
                UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
                await WriteFileAsync(place, entry, cancellationToken).ConfigureAwait(false);
                break;
            case TarEntryKind.SymbolicLink:
                UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
                UnixDirectoryCalls.MakeSymbolicLink(entry.LinkName, place.Directory, place.Name);
                break;
            case TarEntryKind.HardLink:
                LinkToEarlierEntry(place, entry);
                return;
            case TarEntryKind.CharacterDevice or TarEntryKind.BlockDevice:
                UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
                devices.Add(CreatePlaceholder(place), entry.Kind == TarEntryKind.BlockDevice, entry.DeviceMajor, entry.DeviceMinor, entry.Mode);
                break;
            case TarEntryKind.Fifo:
                UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
                UnixDirectoryCalls.MakeFifo(place.Directory, place.Name, NewFileMode);
                break;
            default:
                warnings.Add($"Layer {layerDigest}: entry '{entry.Name}' of tar type '{entry.TypeFlag}' skipped.");
                return;
        }

        ApplyMetadata(place, entry);
        UnixDirectoryCalls.SetLastWriteTime(place.Directory, place.Name, entry.ModificationTime);
    }

    /// <summary>A new file (never an existing one, never through a link), private until its metadata is applied.</summary>
    private static async Task WriteFileAsync(EntryPlace place, TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        using var handle = CreateFile(place, NewFileMode);
        await using var file = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        await entry.Data.CopyToAsync(file, 1 << 16, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The empty, mode-0000 file that stands for a device node (see <see cref="DeviceNodeTable"/>); its inode.</summary>
    private static ulong CreatePlaceholder(EntryPlace place)
    {
        using var handle = CreateFile(place, 0);
        return UnixDirectoryCalls.GetStatus(handle).Inode;
    }

    private static SafeFileHandle CreateFile(EntryPlace place, UnixFileMode mode) => UnixDirectoryCalls.Open(
        place.Directory,
        place.Name,
        UnixDirectoryCalls.OpenWriteOnly | UnixDirectoryCalls.OpenCreate | UnixDirectoryCalls.OpenExclusive | UnixDirectoryCalls.OpenNoFollow,
        mode);

    /// <summary>A hardlink shares the inode of an entry this or an earlier layer wrote, found inside the root like any path.</summary>
    private void LinkToEarlierEntry(EntryPlace place, TarArchiveEntry entry)
    {
        var description = $"{entry.Name} (hardlink to {entry.LinkName})";
        var targetComponents = Normalize(entry.LinkName, description);
        using var target = targetComponents.Count == 0 ? null : OpenPlace(targetComponents, description, createMissing: false);
        var targetKind = targetComponents.Count == 0 ? FileKind.Directory : target is null ? null : KindOf(target);
        if (targetKind is null or FileKind.Directory)
        {
            throw new VmPsException(
                VmPsErrorIds.LayerHardLinkTargetInvalid,
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: entry '{description}': the target {(targetKind is null ? "does not exist" : "is a directory")}.",
                entry.Name);
        }

        UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
        UnixDirectoryCalls.MakeHardLink(target!.Directory, target.Name, place.Directory, place.Name);
    }

    /// <summary>
    /// Ownership first: chown clears setuid bits and file capabilities, so mode and xattrs follow it. A device
    /// placeholder keeps mode 0000 (its mode is in the device table).
    /// </summary>
    private void ApplyMetadata(EntryPlace place, TarArchiveEntry entry)
    {
        if (Environment.IsPrivilegedProcess)
        {
            UnixDirectoryCalls.SetOwner(place.Directory, place.Name, entry.Uid, entry.Gid);
        }
        else if (!ownershipWarned)
        {
            ownershipWarned = true;
            warnings.Add($"Layer {layerDigest}: file owners not applied: setting them needs root, so every file belongs to the current user.");
        }

        if (entry.Kind is not (TarEntryKind.SymbolicLink or TarEntryKind.CharacterDevice or TarEntryKind.BlockDevice))
        {
            UnixDirectoryCalls.SetMode(place.Directory, place.Name, entry.Mode);
        }

        foreach (var (name, value) in entry.ExtendedAttributes)
        {
            try
            {
                UnixDirectoryCalls.SetExtendedAttribute(place.Directory, place.Name, name, value);
            }
            catch (FileOperationException ex)
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
                VmPsErrorIds.InvalidLayerEntry,
                VmPsErrorKind.InvalidData,
                $"Layer {layerDigest}: whiteout '{entryName}' names no file.",
                entryName);
        }

        var hiddenComponents = components.Take(components.Count - 1).Append(hidden).ToList();
        if (pathsInThisLayer.Contains(string.Join('/', hiddenComponents)))
        {
            return;
        }

        using var place = OpenPlace(hiddenComponents, entryName, createMissing: false);
        if (place is not null)
        {
            UnixDirectoryCalls.RemoveTree(place.Directory, place.Name);
        }
    }

    /// <summary>".wh..wh..opq" empties its directory of lower layers' content; this layer's entries stay.</summary>
    private void ClearLowerContent(IReadOnlyList<string> components, string entryName)
    {
        var directory = components.Take(components.Count - 1).ToList();
        RecordInThisLayer(directory);
        using var place = OpenPlace(components, entryName, createMissing: true)!;
        var prefix = directory.Count == 0 ? "" : string.Join('/', directory) + "/";
        foreach (var child in UnixDirectoryCalls.ListNames(place.Directory))
        {
            if (!pathsInThisLayer.Contains(prefix + child))
            {
                UnixDirectoryCalls.RemoveTree(place.Directory, child);
            }
        }
    }

    /// <summary>What the confined writer refused or the file system failed, as the layer's error naming the entry.</summary>
    private VmPsException Failure(string entryName, FileOperationException ex) => ex.Code switch
    {
        FileErrorCodes.PathEscape => Escape(entryName, ex.Message),
        FileErrorCodes.LinkLoop => new VmPsException(
            VmPsErrorIds.LayerSymlinkLoop,
            VmPsErrorKind.InvalidData,
            $"Layer {layerDigest}: entry '{entryName}' goes through too many symbolic links: {ex.Message}",
            entryName,
            ex),
        _ => new VmPsException(
            VmPsErrorIds.LayerApplyFailed,
            VmPsErrorKind.InvalidOperation,
            $"Layer {layerDigest}: cannot apply entry '{entryName}': {ex.Message}",
            entryName,
            ex),
    };

    private VmPsException Escape(string entryName, string reason) => new(
        VmPsErrorIds.LayerEntryEscapesRoot,
        VmPsErrorKind.InvalidData,
        $"Layer {layerDigest}: entry '{entryName}' escapes the root directory ({reason}); nothing was written outside it.",
        entryName);

    /// <summary>Records the path and its parents (a parent an archive omits is still this layer's).</summary>
    private void RecordInThisLayer(IReadOnlyList<string> components)
    {
        for (var length = 1; length <= components.Count; length++)
        {
            pathsInThisLayer.Add(string.Join('/', components.Take(length)));
        }
    }

    /// <summary>An entry's directory, opened by the confined writer, and the entry's name in it (never followed).</summary>
    private sealed record EntryPlace(SafeFileHandle Directory, string Name) : IDisposable
    {
        public void Dispose() => Directory.Dispose();
    }
}
