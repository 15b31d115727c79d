using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>
/// Writes a file, link or directory tree as a PAX tar stream whose entries are named <c>entryName</c> and
/// <c>entryName/relative/path</c>, keeping modes, owners, modification times and symbolic links (never followed).
/// The tree is walked through directory descriptors, each entry opened without following a link, so an entry
/// swapped for a link while the copy runs is not followed out of the tree.
/// </summary>
public static class TarTreeWriter
{
    // O_NONBLOCK: an entry swapped for a FIFO after its stat must not block the open.
    private const int OpenNonBlocking = 0x800;

    public static async Task WriteAsync(Stream archive, string sourcePath, string entryName, CancellationToken cancellationToken)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(sourcePath));
        var parent = Path.GetDirectoryName(full);
        using var directory = UnixDirectoryCalls.Open(UnixDirectoryCalls.CurrentDirectory, parent ?? "/", UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly);
        var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            await WriteEntryAsync(writer, directory, parent is null ? "." : Path.GetFileName(full), entryName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The content bytes of the regular files of a tree (what a copy's progress counts towards).</summary>
    public static long MeasureContent(string path)
    {
        var status = UnixFileSystem.GetStatus(path);
        return status.Kind switch
        {
            FileKind.File => status.Size,
            FileKind.Directory => Directory.EnumerateFileSystemEntries(path).Sum(MeasureContent),
            _ => 0,
        };
    }

    private static async Task WriteEntryAsync(TarWriter writer, SafeFileHandle directory, string name, string entryName, CancellationToken cancellationToken)
    {
        var status = UnixDirectoryCalls.TryGetStatus(directory, name)
            ?? throw new FileOperationException(FileErrorCodes.NotFound, $"'{entryName}' disappeared while it was being copied.");
        switch (status.Kind)
        {
            case FileKind.File:
                var content = new FileStream(Open(directory, name, 0, FileKind.File, entryName), FileAccess.Read, bufferSize: 0);
                await using (content.ConfigureAwait(false))
                {
                    var entry = Entry(TarEntryType.RegularFile, entryName, UnixDirectoryCalls.GetStatus(content.SafeFileHandle));
                    entry.DataStream = content;
                    await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
                }

                return;
            case FileKind.Directory:
                using (var child = Open(directory, name, UnixDirectoryCalls.OpenDirectoryOnly, FileKind.Directory, entryName))
                {
                    await writer.WriteEntryAsync(Entry(TarEntryType.Directory, entryName, UnixDirectoryCalls.GetStatus(child)), cancellationToken).ConfigureAwait(false);
                    foreach (var childName in UnixDirectoryCalls.ListNames(child).Order(StringComparer.Ordinal))
                    {
                        await WriteEntryAsync(writer, child, childName, $"{entryName}/{childName}", cancellationToken).ConfigureAwait(false);
                    }
                }

                return;
            case FileKind.SymbolicLink:
                var link = Entry(TarEntryType.SymbolicLink, entryName, status);
                link.LinkName = UnixDirectoryCalls.ReadLink(directory, name);
                await writer.WriteEntryAsync(link, cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new FileOperationException(FileErrorCodes.UnsupportedEntry, $"'{entryName}' is a device, FIFO or socket; only files, directories and symbolic links are copied.");
        }
    }

    /// <summary>Opens an entry for reading without following a link, and checks it is still what its stat said.</summary>
    private static SafeFileHandle Open(SafeFileHandle directory, string name, int flags, FileKind expected, string entryName)
    {
        var handle = UnixDirectoryCalls.Open(directory, name, UnixDirectoryCalls.OpenReadOnly | UnixDirectoryCalls.OpenNoFollow | OpenNonBlocking | flags);
        if (UnixDirectoryCalls.GetStatus(handle).Kind != expected)
        {
            handle.Dispose();
            throw new FileOperationException(FileErrorCodes.UnsupportedEntry, $"'{entryName}' changed type while it was being copied.");
        }

        return handle;
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, UnixFileStatus status) => new(type, name)
    {
        Mode = (UnixFileMode)status.Mode,
        Uid = status.Uid,
        Gid = status.Gid,
        ModificationTime = status.LastWriteTimeUtc,
    };
}
