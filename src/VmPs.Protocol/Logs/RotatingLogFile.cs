using VmPs.Protocol.Files;

namespace VmPs.Protocol.Logs;

/// <summary>
/// A log file the guest fills, kept within a size cap: once the current file reaches <see cref="MaxFileBytes"/> it
/// becomes <c>PATH.1</c> (replacing the previous one) and a new current file starts, so the log never takes more than
/// twice the cap on disk, however long the guest writes. Both files are 0600 whatever the umask.
/// </summary>
public sealed class RotatingLogFile : IDisposable
{
    /// <summary>The suffix of the one rotated file kept beside the current one.</summary>
    public const string RotatedSuffix = ".1";

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string path;
    private FileStream file;

    public RotatingLogFile(string path, long maxFileBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFileBytes, 1);
        this.path = path;
        MaxFileBytes = maxFileBytes;
        file = Open(path);
    }

    public long MaxFileBytes { get; }

    /// <summary>The older content of a log whose current file is <paramref name="path"/>.</summary>
    public static string RotatedPath(string path) => path + RotatedSuffix;

    /// <summary>Appends <paramref name="data"/>, rotating as often as the cap requires; a write is split at the cap.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (file.Length >= MaxFileBytes)
            {
                Rotate();
            }

            var room = (int)Math.Min(data.Length, MaxFileBytes - file.Length);
            file.Write(data[..room]);
            data = data[room..];
        }
    }

    public void Dispose() => file.Dispose();

    /// <summary>
    /// The new current file is made beside the log and renamed over it (the old one kept as PATH.1 by a hard link), so
    /// the path names a log file at every moment: a reader never finds it missing.
    /// </summary>
    private void Rotate()
    {
        file.Dispose();
        var next = path + ".new";
        File.Delete(next);
        Open(next).Dispose();
        File.Replace(next, path, RotatedPath(path));
        file = Open(path);
    }

    /// <summary>Unbuffered, so a reader sees each write as soon as it is made; 0600 set on the open file (no umask).</summary>
    private static FileStream Open(string path)
    {
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        UnixDirectoryCalls.SetMode(stream.SafeFileHandle, OwnerReadWrite);
        return stream;
    }
}
