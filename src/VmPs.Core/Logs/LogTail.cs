using VmPs.Protocol.Logs;

namespace VmPs.Core.Logs;

/// <summary>
/// The end of a log a hypervisor or guest fills, read without trusting its size: at most <see cref="MaxBytes"/>. The
/// writer may still hold the file open. A current file shorter than that is completed from the end of the rotated one
/// (see RotatingLogFile).
/// </summary>
internal static class LogTail
{
    /// <summary>How much of a log's end is read: 64 KiB.</summary>
    public const int MaxBytes = 64 * 1024;

    public static byte[] Read(string path)
    {
        var current = Read(path, MaxBytes);
        var earlier = current.Length < MaxBytes ? Read(RotatingLogFile.RotatedPath(path), MaxBytes - current.Length) : [];
        return [.. earlier, .. current];
    }

    public static string ReadText(string path) => System.Text.Encoding.UTF8.GetString(Read(path));

    private static byte[] Read(string path, int count)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Max(0, stream.Length - count), SeekOrigin.Begin);
            var buffer = new byte[count];
            var length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            return buffer[..length];
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}
