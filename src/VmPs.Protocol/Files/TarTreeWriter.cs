using System.Formats.Tar;
using VmPs.Protocol.Messages;

namespace VmPs.Protocol.Files;

/// <summary>
/// Writes a file, link or directory tree as a PAX tar stream whose entries are named <c>entryName</c> and
/// <c>entryName/relative/path</c>, keeping modes, owners, modification times and symbolic links (never followed).
/// </summary>
public static class TarTreeWriter
{
    public static async Task WriteAsync(Stream archive, string sourcePath, string entryName, CancellationToken cancellationToken)
    {
        var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            await WriteEntryAsync(writer, sourcePath, entryName, cancellationToken).ConfigureAwait(false);
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

    private static async Task WriteEntryAsync(TarWriter writer, string path, string name, CancellationToken cancellationToken)
    {
        var status = UnixFileSystem.GetStatus(path);
        var type = status.Kind switch
        {
            FileKind.File => TarEntryType.RegularFile,
            FileKind.Directory => TarEntryType.Directory,
            FileKind.SymbolicLink => TarEntryType.SymbolicLink,
            _ => throw new FileOperationException(FileErrorCodes.UnsupportedEntry, $"'{path}' is a device, FIFO or socket; only files, directories and symbolic links are copied."),
        };
        var entry = new PaxTarEntry(type, name)
        {
            Mode = (UnixFileMode)status.Mode,
            Uid = status.Uid,
            Gid = status.Gid,
            ModificationTime = status.LastWriteTimeUtc,
        };
        if (type == TarEntryType.SymbolicLink)
        {
            entry.LinkName = new FileInfo(path).LinkTarget!;
        }

        if (type == TarEntryType.RegularFile)
        {
            var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
            await using (content.ConfigureAwait(false))
            {
                entry.DataStream = content;
                await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        if (type == TarEntryType.Directory)
        {
            foreach (var child in Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal))
            {
                await WriteEntryAsync(writer, child, $"{name}/{Path.GetFileName(child)}", cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
