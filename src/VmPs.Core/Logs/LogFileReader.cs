using System.Text;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Storage;
using VmPs.Protocol.Logs;

namespace VmPs.Core.Logs;

/// <summary>
/// Reads a log file that a hypervisor may still be writing, with content the guest controls: lines as they
/// complete, read in chunks of <see cref="ChunkBytes"/>, so neither a huge file nor an endless line is ever held
/// whole. A line longer than <see cref="MaxLineBytes"/> comes in pieces of that size. The log keeper rotates the file
/// (see RotatingLogFile): a read from the start begins with the rotated file, and a file the path no longer names is
/// read to its end before the reader moves on to the new one (a follower that falls a whole rotated file behind
/// skips what was rotated away meanwhile). A file shorter than what was already read was truncated: reading starts over.
/// </summary>
internal sealed class LogFileReader : IDisposable
{
    /// <summary>The longest line kept whole: 1 MiB.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    private const int ChunkBytes = 64 * 1024;

    // A filtered tail (init records) looks at lines up to this size; longer ones cannot be what it looks for.
    private const int MaxFilteredLineBytes = 64 * 1024;

    private readonly string path;
    private readonly MemoryStream pending = new();
    private SafeFileHandle? file;
    private ulong? fileInode;

    // Until a file is read, a read begins with the rotated file; after that only the current one is new.
    private bool fromStart = true;
    private long position;

    public LogFileReader(string path)
    {
        this.path = path;
    }

    /// <summary>
    /// Moves to where the last <paramref name="count"/> lines (those <paramref name="include"/> accepts) begin,
    /// scanning back from the end of the file a chunk at a time, into the rotated file when the current one holds
    /// fewer: a tail of a large log reads only its end. The last line without its newline counts only with
    /// <paramref name="includePartialLine"/> (the writer is gone).
    /// </summary>
    public async Task SkipToLastLinesAsync(int count, bool includePartialLine, Func<string, bool>? include, CancellationToken cancellationToken)
    {
        Use(TryOpen(path), 0);
        if (file is null)
        {
            return;
        }

        var length = RandomAccess.GetLength(file);
        if (count == 0)
        {
            // Nothing present: the end, or (while the writer may complete it) where the last partial line begins.
            MoveTo(includePartialLine ? length : (await ScanBackAsync(file, 0, 0, last: true, false, include, cancellationToken).ConfigureAwait(false)).Start ?? 0);
            return;
        }

        var (start, counted) = await ScanBackAsync(file, count, 0, last: true, includePartialLine, include, cancellationToken).ConfigureAwait(false);
        if (start is { } found)
        {
            MoveTo(found);
            return;
        }

        // Lines joined across the rotation count once, with the rotated file's part.
        if (TryOpen(RotatingLogFile.RotatedPath(path)) is { } rotated)
        {
            var (rotatedStart, _) = await ScanBackAsync(rotated, count, counted, last: false, includePartialLine, include, cancellationToken).ConfigureAwait(false);
            Use(rotated, rotatedStart ?? 0);
        }
    }

    /// <summary>
    /// The lines added since the last call, read up to the file's length when the call began. A last line without
    /// its newline yet is kept for the next call, unless <paramref name="includePartialLine"/> (nothing more will come).
    /// </summary>
    public async IAsyncEnumerable<string> ReadNewLinesAsync(bool includePartialLine, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (file is null)
        {
            Use(fromStart ? TryOpen(RotatingLogFile.RotatedPath(path)) ?? TryOpen(path) : TryOpen(path), 0);
        }

        var buffer = new byte[ChunkBytes];
        while (file is not null)
        {
            // Checked before the read: once the path names another file, the writer has closed this one.
            var replaced = UnixFileType.Inode(path) is { } inode && inode != fileInode;
            var length = RandomAccess.GetLength(file);
            if (length < position)
            {
                MoveTo(0);
            }

            while (position < length)
            {
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(ChunkBytes, length - position)), position, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                position += read;
                foreach (var line in Split(buffer.AsMemory(0, read)))
                {
                    yield return line;
                }
            }

            if (!replaced)
            {
                break;
            }

            file.Dispose();
            file = TryOpen(path);
            fileInode = file is null ? null : UnixFileType.Inode(file);
            position = 0;
        }

        if (includePartialLine && pending.Length > 0)
        {
            yield return TakePending();
        }
    }

    public void Dispose() => file?.Dispose();

    /// <summary>
    /// Counts lines back from the end of <paramref name="handle"/>, <paramref name="counted"/> already found after it:
    /// where the <paramref name="count"/>th begins, or null when the file holds fewer (and how many it held).
    /// </summary>
    private async Task<(long? Start, int Counted)> ScanBackAsync(SafeFileHandle handle, int count, int counted, bool last, bool includePartialLine, Func<string, bool>? include, CancellationToken cancellationToken)
    {
        var length = RandomAccess.GetLength(handle);
        var buffer = new byte[ChunkBytes];
        var lineEnd = length;
        for (var cursor = length; cursor > 0;)
        {
            var size = (int)Math.Min(ChunkBytes, cursor);
            cursor -= size;
            await ReadExactlyAsync(handle, buffer.AsMemory(0, size), cursor, cancellationToken).ConfigureAwait(false);
            for (var index = size - 1; index >= 0; index--)
            {
                if (buffer[index] != (byte)'\n')
                {
                    continue;
                }

                var lineStart = cursor + index + 1;
                if (counted == count || (await CountsAsync(handle, lineStart, lineEnd, last, includePartialLine, include, cancellationToken).ConfigureAwait(false) && ++counted == count))
                {
                    return (lineStart, counted);
                }

                lineEnd = lineStart - 1;
                last = false;
            }
        }

        return (null, counted);
    }

    /// <summary>The lines a chunk completes; a line reaching <see cref="MaxLineBytes"/> is cut there.</summary>
    private List<string> Split(ReadOnlyMemory<byte> chunk)
    {
        var lines = new List<string>();
        var bytes = chunk.Span;
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            var end = newline < 0 ? bytes.Length : newline;
            var room = MaxLineBytes - (int)pending.Length;
            if (end > room)
            {
                pending.Write(bytes[..room]);
                lines.Add(TakePending());
                bytes = bytes[room..];
                continue;
            }

            pending.Write(bytes[..end]);
            if (newline < 0)
            {
                break;
            }

            lines.Add(TakePending());
            bytes = bytes[(newline + 1)..];
        }

        return lines;
    }

    private async Task<bool> CountsAsync(SafeFileHandle handle, long start, long end, bool last, bool includePartialLine, Func<string, bool>? include, CancellationToken cancellationToken)
    {
        if (last && (start == end || !includePartialLine))
        {
            return false;
        }

        if (include is null)
        {
            return true;
        }

        if (end - start > MaxFilteredLineBytes)
        {
            return false;
        }

        var line = new byte[end - start];
        await ReadExactlyAsync(handle, line, start, cancellationToken).ConfigureAwait(false);
        return include(Decode(line));
    }

    private static async Task ReadExactlyAsync(SafeFileHandle handle, Memory<byte> buffer, long offset, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer, offset, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // Truncated under us (the VM booted again): what is left reads as empty.
                buffer.Span.Clear();
                return;
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    private void MoveTo(long offset)
    {
        position = offset;
        pending.SetLength(0);
    }

    private string TakePending()
    {
        var line = Decode(pending.GetBuffer().AsSpan(0, (int)pending.Length));
        pending.SetLength(0);
        return line;
    }

    private void Use(SafeFileHandle? handle, long offset)
    {
        fromStart &= handle is null;
        file?.Dispose();
        file = handle;
        fileInode = handle is null ? null : UnixFileType.Inode(handle);
        MoveTo(offset);
    }

    private static SafeFileHandle? TryOpen(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static string Decode(ReadOnlySpan<byte> line) => Encoding.UTF8.GetString(line).TrimEnd('\r');
}
