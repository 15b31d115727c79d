using System.Text;
using VmPs.Protocol.Archives;
using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>Which owners and permission bits extracted entries get.</summary>
public enum ExtractedModes
{
    /// <summary>
    /// As the invoking user: owned by this process, the entry's rwx bits less the umask, never setuid, setgid or
    /// sticky (tar --no-same-owner --no-same-permissions, cp without -p). What a host gets from a guest by default.
    /// </summary>
    Invoker,

    /// <summary>The entry's owner and its rwx and sticky bits, never setuid or setgid (Copy-VmFile -FromVm -PreserveOwnership).</summary>
    OwnerAndModeWithoutSetId,

    /// <summary>The entry's mode exactly, owned by this process: the user's own files going into a guest.</summary>
    ExactMode,

    /// <summary>The entry's owner and mode exactly: the user's own files going into a guest, with -PreserveOwnership.</summary>
    ExactOwnerAndMode,
}

/// <summary>How an extraction treats existing entries, owners and modes, and which entries it accepts.</summary>
public sealed record TarExtractOptions
{
    public bool Overwrite { get; init; }

    public ExtractedModes Modes { get; init; } = ExtractedModes.Invoker;

    /// <summary>
    /// The one entry the archive may hold at its top: the file or directory that was asked for. Everything else must
    /// lie below it, and a directory's entries are confined to that directory (not merely to the destination).
    /// Null: any entries below the destination.
    /// </summary>
    public string? RootName { get; init; }

    /// <summary>With <see cref="RootName"/>: whether the root may be a directory tree, or must be a single file.</summary>
    public bool AllowTree { get; init; } = true;

    /// <summary>
    /// Whether symbolic links that lead outside the tree are kept as they are (the host's own files going into a
    /// guest: a virtualenv's python -> /usr/bin/python3). Nothing is ever written through one: later entries are
    /// still resolved below the destination. False (trees from a guest): such a link is refused.
    /// </summary>
    public bool KeepLinksLeavingTree { get; init; }
}

/// <summary>What an extraction wrote: entries (directories included) and content bytes.</summary>
public sealed record TarExtractResult(int Entries, long Bytes);

/// <summary>
/// Writes a tree that an untrusted peer sends as a tar stream (a guest's files on the host, the host's files in the
/// guest) below a <see cref="ConfinedDirectory"/>: the one module through which such trees reach a file system.
/// Every lookup is resolved by the kernel below the destination (no name, link or chain of links leads outside it),
/// the last component of an entry is never followed, files are replaced atomically, and only files, directories
/// and symbolic links are written (devices, FIFOs and hard links are refused), with owners and modes as
/// <see cref="ExtractedModes"/> says. An entry is checked before anything of it is written. A symbolic link is kept
/// only while the kernel, following it, stays inside the tree (judged by the file system, so no chain of links such
/// as <c>a -> .</c>, <c>b -> a/a/../../etc</c> points outside); nothing is ever written through a link that leaves.
/// Directory metadata is applied when the stream leaves a directory, so memory stays bounded by the tree's depth.
/// </summary>
public sealed class TarTreeExtractor
{
    /// <summary>PATH_MAX: no longer entry name or link target is written.</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>NAME_MAX: no longer name component is written.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Links that lead nowhere yet are checked again at the end; an archive may hold at most this many.</summary>
    public const int MaxDanglingLinks = 10_000;

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1FF;
    private const UnixFileMode SetIdBits = UnixFileMode.SetUser | UnixFileMode.SetGroup;

    private readonly ConfinedDirectory destination;
    private readonly TarExtractOptions options;
    private readonly UnixFileMode umask;
    private readonly Stack<PendingDirectory> openDirectories = new();
    private readonly List<IReadOnlyList<string>> danglingLinks = [];
    private ConfinedDirectory? tree;
    private bool rootWritten;
    private int entries;
    private long bytes;

    private TarTreeExtractor(ConfinedDirectory destination, TarExtractOptions options)
    {
        this.destination = destination;
        this.options = options;
        umask = options.Modes == ExtractedModes.Invoker ? UnixDirectoryCalls.CurrentUmask() : 0;
    }

    /// <summary>Extracts <paramref name="archive"/> below <paramref name="destination"/>; stops at the first refused entry.</summary>
    public static async Task<TarExtractResult> ExtractAsync(Stream archive, ConfinedDirectory destination, TarExtractOptions options, CancellationToken cancellationToken)
    {
        var extractor = new TarTreeExtractor(destination, options);
        try
        {
            var reader = new TarArchiveReader(archive, TarLimits.Default, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                while (await NextAsync(reader, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    await extractor.ExtractEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                }
            }

            extractor.CloseDirectories([]);
            if (extractor.RemoveDanglingLinksLeavingTree() is { } escape)
            {
                throw escape;
            }

            if (options.RootName is not null && !extractor.rootWritten)
            {
                throw Unexpected($"The archive does not hold '{options.RootName}', the entry that was asked for.");
            }

            return new TarExtractResult(extractor.entries, extractor.bytes);
        }
        catch
        {
            // What was written before the failure stays, and it may give a link that led nowhere a way out.
            extractor.RemoveDanglingLinksLeavingTree();
            throw;
        }
        finally
        {
            extractor.tree?.Dispose();
        }
    }

    /// <summary>
    /// The components of an entry name relative to the destination; throws PathEscape for absolute names and "..",
    /// InvalidArchive for names longer than the file system takes. "./" prefixes and repeated slashes are ignored.
    /// </summary>
    public static IReadOnlyList<string> SplitEntryName(string name)
    {
        if (name.StartsWith('/'))
        {
            throw Escape($"The entry '{name}' has an absolute path.");
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxPathBytes || name.Contains('\0'))
        {
            throw Invalid($"An entry's name is longer than {MaxPathBytes} bytes or holds a NUL.");
        }

        var components = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(component => component != ".").ToArray();
        if (components.Contains(".."))
        {
            throw Escape($"The entry '{name}' contains '..'.");
        }

        return components.Any(component => Encoding.UTF8.GetByteCount(component) > MaxNameBytes)
            ? throw Invalid($"The entry '{name}' has a name component longer than {MaxNameBytes} bytes.")
            : components;
    }

    /// <summary>The next entry of the shared bounded reader; what it refuses is an InvalidArchive here.</summary>
    private static async ValueTask<TarArchiveEntry?> NextAsync(TarArchiveReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (TarArchiveException error)
        {
            throw new FileOperationException(FileErrorCodes.InvalidArchive, $"The tar stream is refused: {error.Message}", error);
        }
    }

    private async Task ExtractEntryAsync(TarArchiveEntry entry, CancellationToken cancellationToken)
    {
        var components = SplitEntryName(entry.Name);
        if (components.Count == 0)
        {
            return;
        }

        var kind = KindOf(entry);
        CheckPlace(entry.Name, components, kind);
        if (kind == FileKind.SymbolicLink && (Encoding.UTF8.GetByteCount(entry.LinkName) > MaxPathBytes - 1 || entry.LinkName.Contains('\0') || entry.LinkName.Length == 0))
        {
            throw Invalid($"The symbolic link '{entry.Name}' has an empty target, a NUL in it, or one longer than {MaxPathBytes - 1} bytes.");
        }

        CloseDirectories(components);
        var metadata = MetadataOf(entry);
        var (parent, name) = OpenParent(components);
        using (parent)
        {
            switch (kind)
            {
                case FileKind.Directory:
                    MakeDirectory(parent, name, entry.Name);
                    openDirectories.Push(new PendingDirectory(components, metadata));
                    if (options.RootName is not null && components.Count == 1)
                    {
                        tree = destination.OpenConfined(name);
                    }

                    break;
                case FileKind.File:
                    PrepareReplace(parent, name, entry.Name);
                    bytes += await WriteFileAsync(parent, name, entry, metadata, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    PrepareReplace(parent, name, entry.Name);
                    UnixDirectoryCalls.RemoveTree(parent, name);
                    UnixDirectoryCalls.MakeSymbolicLink(entry.LinkName, parent, name);
                    if (!options.KeepLinksLeavingTree)
                    {
                        ConfineLink(components, parent, name);
                    }

                    if (metadata.Uid is not null)
                    {
                        UnixDirectoryCalls.SetOwner(parent, name, metadata.Uid.Value, metadata.Gid ?? -1);
                    }

                    UnixDirectoryCalls.SetLastWriteTime(parent, name, entry.ModificationTime);
                    break;
            }
        }

        rootWritten |= components.Count == 1;
        entries++;
    }

    private static FileKind KindOf(TarArchiveEntry entry) => entry.Kind switch
    {
        TarEntryKind.Directory => FileKind.Directory,
        TarEntryKind.File => FileKind.File,
        TarEntryKind.SymbolicLink => FileKind.SymbolicLink,
        _ => throw new FileOperationException(
            FileErrorCodes.UnsupportedEntry,
            $"The entry '{entry.Name}' is a {Describe(entry)}; only files, directories and symbolic links are extracted, and nothing of it was written."),
    };

    private static string Describe(TarArchiveEntry entry) => entry.Kind switch
    {
        TarEntryKind.HardLink => "hard link",
        TarEntryKind.CharacterDevice => "character device",
        TarEntryKind.BlockDevice => "block device",
        TarEntryKind.Fifo => "FIFO",
        _ => $"tar entry of type '{entry.TypeFlag}'",
    };

    /// <summary>The content, streamed; a stream that ends before the entry's size is an InvalidArchive and leaves no file.</summary>
    private static async Task<long> WriteFileAsync(SafeFileHandle parent, string name, TarArchiveEntry entry, FileMetadata metadata, CancellationToken cancellationToken)
    {
        try
        {
            return await AtomicFile.WriteAsync(parent, name, entry.Data, metadata, cancellationToken).ConfigureAwait(false);
        }
        catch (TarArchiveException error)
        {
            throw new FileOperationException(FileErrorCodes.InvalidArchive, $"The tar stream is refused: {error.Message}", error);
        }
    }

    /// <summary>With a <see cref="TarExtractOptions.RootName"/>: the root first, once, then only entries below a root directory.</summary>
    private void CheckPlace(string entryName, IReadOnlyList<string> components, FileKind kind)
    {
        if (options.RootName is not { } root)
        {
            return;
        }

        if (components[0] != root)
        {
            throw Unexpected($"The archive holds '{entryName}', which is not '{root}' (what was asked for) nor below it; nothing of it was written.");
        }

        if (components.Count == 1)
        {
            if (rootWritten)
            {
                throw Unexpected($"The archive holds '{root}' twice; the second was not written.");
            }

            if (kind != FileKind.File && !(kind == FileKind.Directory && options.AllowTree))
            {
                throw Unexpected($"The archive's '{root}' is a {Describe(kind)} where {(options.AllowTree ? "a file or a directory" : "a file")} was asked for; nothing of it was written.");
            }
        }
        else if (tree is null)
        {
            throw Unexpected($"The archive holds '{entryName}', but '{root}' is {(rootWritten ? "a file" : "not its first entry")}; nothing of it was written.");
        }
    }

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.SymbolicLink => "symbolic link",
        FileKind.Directory => "directory",
        _ => "file",
    };

    /// <summary>The directory an entry goes in (missing ones made, private until their own entry comes) and its name there.</summary>
    private (SafeFileHandle Directory, string Name) OpenParent(IReadOnlyList<string> components) =>
        tree is not null && components.Count > 1
            ? tree.OpenParent(string.Join('/', components.Skip(1)), createMissing: true, OwnerOnlyDirectory)
            : destination.OpenParent(string.Join('/', components), createMissing: true, OwnerOnlyDirectory);

    private FileMetadata MetadataOf(TarArchiveEntry entry)
    {
        // As cp -p: owners are kept where this process may set them; elsewhere the copy stays the invoker's.
        var keepOwner = (options.Modes is ExtractedModes.OwnerAndModeWithoutSetId or ExtractedModes.ExactOwnerAndMode) && Environment.IsPrivilegedProcess;
        var mode = options.Modes switch
        {
            ExtractedModes.Invoker => entry.Mode & PermissionBits & ~umask,
            ExtractedModes.OwnerAndModeWithoutSetId => entry.Mode & ~SetIdBits,
            _ => entry.Mode,
        };
        return new FileMetadata(mode, entry.ModificationTime, keepOwner ? entry.Uid : null, keepOwner ? entry.Gid : null);
    }

    private void MakeDirectory(SafeFileHandle parent, string name, string entryName)
    {
        switch (UnixDirectoryCalls.TryGetStatus(parent, name)?.Kind)
        {
            case FileKind.Directory:
                return;
            case null:
                UnixDirectoryCalls.MakeDirectory(parent, name, OwnerOnlyDirectory);
                return;
            case FileKind.SymbolicLink:
                throw Escape($"'{entryName}' is a symbolic link in the destination; a directory would be extracted through it.");
            default:
                if (!options.Overwrite)
                {
                    throw new FileOperationException(FileErrorCodes.Exists, $"'{entryName}' already exists and is not a directory.");
                }

                UnixDirectoryCalls.Unlink(parent, name, isDirectory: false);
                UnixDirectoryCalls.MakeDirectory(parent, name, OwnerOnlyDirectory);
                return;
        }
    }

    /// <summary>Checks that a file or link may take the place of whatever is at <paramref name="name"/>.</summary>
    private void PrepareReplace(SafeFileHandle parent, string name, string entryName)
    {
        switch (UnixDirectoryCalls.TryGetStatus(parent, name)?.Kind)
        {
            case null:
                return;
            case FileKind.Directory:
                throw new FileOperationException(FileErrorCodes.IsADirectory, $"Cannot extract '{entryName}': a directory of that name is in the destination.");
            default:
                if (!options.Overwrite)
                {
                    throw new FileOperationException(FileErrorCodes.Exists, $"'{entryName}' already exists.");
                }

                return;
        }
    }

    /// <summary>
    /// Applies the metadata of the directories the stream has left (all of them for an empty <paramref name="next"/>):
    /// deepest first, and only now, so their children did not change their time and a read-only mode did not stop them.
    /// </summary>
    private void CloseDirectories(IReadOnlyList<string> next)
    {
        while (openDirectories.TryPeek(out var top) && !IsBelow(next, top.Components))
        {
            openDirectories.Pop();
            var (parent, name) = OpenParent(top.Components);
            using (parent)
            {
                if (top.Metadata.Uid is not null)
                {
                    UnixDirectoryCalls.SetOwner(parent, name, top.Metadata.Uid.Value, top.Metadata.Gid ?? -1);
                }

                using (var directory = UnixDirectoryCalls.Open(parent, name, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenDirectoryOnly | UnixDirectoryCalls.OpenNoFollow))
                {
                    UnixDirectoryCalls.SetMode(directory, top.Metadata.Mode);
                }

                UnixDirectoryCalls.SetLastWriteTime(parent, name, top.Metadata.LastWriteTimeUtc!.Value);
            }
        }
    }

    /// <summary>
    /// Keeps a link only if the kernel, following it from where it is, stays inside what is being written (a tree is
    /// its own confinement): no chain of links, relative or absolute, may point a later reader outside. A link that
    /// leads nowhere yet is checked again once the whole archive is written.
    /// </summary>
    private void ConfineLink(IReadOnlyList<string> components, SafeFileHandle parent, string name)
    {
        try
        {
            if (!ResolvesInside(components))
            {
                if (danglingLinks.Count == MaxDanglingLinks)
                {
                    throw Invalid($"The archive holds more than {MaxDanglingLinks} symbolic links that lead nowhere.");
                }

                danglingLinks.Add(components);
            }
        }
        catch (FileOperationException)
        {
            UnixDirectoryCalls.Unlink(parent, name, isDirectory: false);
            throw;
        }
    }

    /// <summary>
    /// Unlinks each link that led nowhere when it was written and now leads outside the tree (through what was written
    /// after it) or cannot be resolved at all (a loop), once; returns the first one's error (PathEscape, LinkLoop), or null.
    /// </summary>
    private FileOperationException? RemoveDanglingLinksLeavingTree()
    {
        FileOperationException? first = null;
        foreach (var components in danglingLinks)
        {
            try
            {
                ResolvesInside(components);
            }
            catch (FileOperationException error)
            {
                var (parent, name) = OpenParent(components);
                using (parent)
                {
                    UnixDirectoryCalls.Unlink(parent, name, isDirectory: false);
                }

                first ??= error;
            }
        }

        // Checked: a failure after this point (the escape thrown from here) finds none left to check again.
        danglingLinks.Clear();
        return first;
    }

    private bool ResolvesInside(IReadOnlyList<string> components)
    {
        try
        {
            return tree is not null && components.Count > 1
                ? tree.ResolvesInside(string.Join('/', components.Skip(1)))
                : destination.ResolvesInside(string.Join('/', components));
        }
        catch (FileOperationException error) when (error.Code == FileErrorCodes.PathEscape)
        {
            throw Escape($"The symbolic link '{string.Join('/', components)}' leads outside the destination; it was not kept.");
        }
    }

    private static bool IsBelow(IReadOnlyList<string> path, IReadOnlyList<string> directory) =>
        path.Count > directory.Count && directory.Select((component, index) => path[index] == component).All(same => same);

    private static FileOperationException Escape(string message) => new(FileErrorCodes.PathEscape, message);

    private static FileOperationException Invalid(string message) => new(FileErrorCodes.InvalidArchive, message);

    private static FileOperationException Unexpected(string message) => new(FileErrorCodes.UnexpectedEntry, message);

    private sealed record PendingDirectory(IReadOnlyList<string> Components, FileMetadata Metadata);
}
