using System.Text;

namespace VmPs.Core.Logs;

/// <summary>
/// Reads a log file that a hypervisor may still be writing, a batch of complete lines at a time. A file
/// shorter than what was already read was replaced (the VM booted again): reading starts over.
/// </summary>
internal sealed class LogFileReader
{
    private readonly string path;
    private readonly MemoryStream pending = new();
    private long position;

    public LogFileReader(string path)
    {
        this.path = path;
    }

    /// <summary>
    /// The lines added since the last call. A last line without its newline yet is kept for the next call,
    /// unless <paramref name="includePartialLine"/> (the writer is gone, nothing more will come).
    /// </summary>
    public async Task<IReadOnlyList<string>> ReadNewLinesAsync(bool includePartialLine, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        await ReadNewBytesAsync(cancellationToken).ConfigureAwait(false);
        var bytes = pending.GetBuffer().AsSpan(0, (int)pending.Length);
        var start = 0;
        for (var newline = bytes.IndexOf((byte)'\n'); newline >= 0; newline = bytes[start..].IndexOf((byte)'\n'))
        {
            lines.Add(Decode(bytes.Slice(start, newline)));
            start += newline + 1;
        }

        if (includePartialLine && start < bytes.Length)
        {
            lines.Add(Decode(bytes[start..]));
            start = bytes.Length;
        }

        var rest = bytes[start..].ToArray();
        pending.SetLength(0);
        pending.Write(rest);
        return lines;
    }

    private async Task ReadNewBytesAsync(CancellationToken cancellationToken)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, FileOptions.Asynchronous);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            return;
        }

        await using (file.ConfigureAwait(false))
        {
            if (file.Length < position)
            {
                position = 0;
                pending.SetLength(0);
            }

            file.Position = position;
            await file.CopyToAsync(pending, cancellationToken).ConfigureAwait(false);
            position = file.Position;
        }
    }

    private static string Decode(ReadOnlySpan<byte> line) => Encoding.UTF8.GetString(line).TrimEnd('\r');
}
