using System.Formats.Tar;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>How an extraction treats existing entries and owners.</summary>
public sealed record TarExtractOptions(bool Overwrite, bool PreserveOwnership);

/// <summary>What an extraction wrote: entries (directories included) and content bytes.</summary>
public sealed record TarExtractResult(int Entries, long Bytes);

/// <summary>
/// Extracts a tar stream (files, directories, symbolic links) under a destination directory, streaming each
/// file's content to disk. The stream is untrusted: an entry that is absolute, contains "..", would be written
/// through a symbolic link, or is a link pointing outside the destination fails with PathEscape before anything
/// of it is written. Files are replaced atomically; directories keep their mode and time from the stream.
/// </summary>
public sealed class TarTreeExtractor
{
    private readonly string _root;
    private readonly TarExtractOptions _options;
    private readonly HashSet<string> _knownDirectories = new(StringComparer.Ordinal);
    private readonly List<(string Path, FileMetadata Metadata)> _directoryMetadata = [];
    private int _entries;
    private long _bytes;

    private TarTreeExtractor(string root, TarExtractOptions options)
    {
        _root = root;
        _options = options;
    }

    /// <summary>Extracts every entry of <paramref name="archive"/> under the existing directory <paramref name="destination"/>.</summary>
    public static async Task<TarExtractResult> ExtractAsync(Stream archive, string destination, TarExtractOptions options, CancellationToken cancellationToken)
    {
        var extractor = new TarTreeExtractor(Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination)), options);
        var reader = new TarReader(archive, leaveOpen: true);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                await extractor.ExtractEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }

        extractor.ApplyDirectoryMetadata();
        return new TarExtractResult(extractor._entries, extractor._bytes);
    }

    /// <summary>
    /// The components of an entry name relative to the destination; throws PathEscape for absolute names and "..".
    /// "./" prefixes and repeated slashes are ignored.
    /// </summary>
    public static IReadOnlyList<string> SplitEntryName(string name)
    {
        if (name.StartsWith('/'))
        {
            throw Escape($"The entry '{name}' has an absolute path.");
        }

        var components = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(component => component != ".").ToArray();
        return components.Contains("..") ? throw Escape($"The entry '{name}' contains '..'.") : components;
    }

    /// <summary>True when a link at <paramref name="linkComponents"/> with a relative target stays under the destination.</summary>
    public static bool LinkStaysInside(IReadOnlyList<string> linkComponents, string target)
    {
        if (target.StartsWith('/'))
        {
            return false;
        }

        var depth = linkComponents.Count - 1;
        foreach (var component in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            depth += component switch
            {
                ".." => -1,
                "." => 0,
                _ => 1,
            };
            if (depth < 0)
            {
                return false;
            }
        }

        return true;
    }

    private async Task ExtractEntryAsync(TarEntry entry, CancellationToken cancellationToken)
    {
        var components = SplitEntryName(entry.Name);
        if (components.Count == 0)
        {
            return;
        }

        var path = Path.Combine(_root, Path.Combine([.. components]));
        EnsureParentDirectories(components);
        var metadata = new FileMetadata(
            entry.Mode,
            entry.ModificationTime,
            _options.PreserveOwnership ? entry.Uid : null,
            _options.PreserveOwnership ? entry.Gid : null);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                ExtractDirectory(path, metadata);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                PrepareReplace(path, entry.Name);
                _bytes += await AtomicFile.WriteAsync(path, entry.DataStream, metadata, cancellationToken).ConfigureAwait(false);
                break;
            case TarEntryType.SymbolicLink:
                if (!LinkStaysInside(components, entry.LinkName))
                {
                    throw Escape($"The symbolic link '{entry.Name}' points outside the destination ('{entry.LinkName}').");
                }

                PrepareReplace(path, entry.Name);
                DeleteExisting(path);
                File.CreateSymbolicLink(path, entry.LinkName);
                if (metadata.Uid is not null)
                {
                    UnixFileSystem.SetOwner(path, metadata.Uid.Value, metadata.Gid ?? -1);
                }

                UnixFileSystem.SetLastWriteTime(path, entry.ModificationTime);
                break;
            default:
                throw new FileOperationException(FileErrorCodes.UnsupportedEntry, $"The entry '{entry.Name}' is a {entry.EntryType}; only files, directories and symbolic links are extracted.");
        }

        _entries++;
    }

    private void ExtractDirectory(string path, FileMetadata metadata)
    {
        switch (UnixFileSystem.TryGetStatus(path)?.Kind)
        {
            case FileKind.Directory:
                break;
            case null:
                Directory.CreateDirectory(path);
                break;
            case FileKind.SymbolicLink:
                throw Escape($"'{path}' is a symbolic link; a directory would be extracted through it.");
            default:
                if (!_options.Overwrite)
                {
                    throw new FileOperationException(FileErrorCodes.Exists, $"'{path}' already exists and is not a directory.");
                }

                File.Delete(path);
                Directory.CreateDirectory(path);
                break;
        }

        _knownDirectories.Add(path);
        _directoryMetadata.Add((path, metadata));
    }

    /// <summary>Checks that a file or link may take the place of whatever is at <paramref name="path"/>.</summary>
    private void PrepareReplace(string path, string entryName)
    {
        switch (UnixFileSystem.TryGetStatus(path)?.Kind)
        {
            case null:
                return;
            case FileKind.Directory:
                throw new FileOperationException(FileErrorCodes.IsADirectory, $"Cannot extract '{entryName}': '{path}' is a directory.");
            default:
                if (!_options.Overwrite)
                {
                    throw new FileOperationException(FileErrorCodes.Exists, $"'{path}' already exists.");
                }

                break;
        }
    }

    private static void DeleteExisting(string path)
    {
        if (UnixFileSystem.TryGetStatus(path) is not null)
        {
            File.Delete(path);
        }
    }

    /// <summary>Creates missing parents; refuses to go through a symbolic link (it could lead anywhere).</summary>
    private void EnsureParentDirectories(IReadOnlyList<string> components)
    {
        var current = _root;
        for (var index = 0; index < components.Count - 1; index++)
        {
            current = Path.Combine(current, components[index]);
            if (_knownDirectories.Contains(current))
            {
                continue;
            }

            switch (UnixFileSystem.TryGetStatus(current)?.Kind)
            {
                case null:
                    Directory.CreateDirectory(current);
                    break;
                case FileKind.Directory:
                    break;
                case FileKind.SymbolicLink:
                    throw Escape($"'{string.Join('/', components)}' would be written through the symbolic link '{current}'.");
                default:
                    throw new FileOperationException(FileErrorCodes.NotADirectory, $"'{current}' is not a directory.");
            }

            _knownDirectories.Add(current);
        }
    }

    /// <summary>Deepest first, so setting a parent's time is not undone by changes to its children.</summary>
    private void ApplyDirectoryMetadata()
    {
        for (var index = _directoryMetadata.Count - 1; index >= 0; index--)
        {
            var (path, metadata) = _directoryMetadata[index];
            if (metadata.Uid is not null)
            {
                UnixFileSystem.SetOwner(path, metadata.Uid.Value, metadata.Gid ?? -1);
            }

            UnixFileSystem.SetMode(path, metadata.Mode);
            if (metadata.LastWriteTimeUtc is { } time)
            {
                UnixFileSystem.SetLastWriteTime(path, time);
            }
        }
    }

    private static FileOperationException Escape(string message) => new(FileErrorCodes.PathEscape, message);
}
