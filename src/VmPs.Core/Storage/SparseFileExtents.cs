using Microsoft.Win32.SafeHandles;
using VmPs.Core.Native;

namespace VmPs.Core.Storage;

/// <summary>
/// Where a sparse file holds data (SEEK_DATA/SEEK_HOLE), so that reading it costs what its data is, not its length: a
/// guest's RAM file is as long as its memory and mostly holes. A hole reads as zeros, so a reader that skips it misses
/// nothing but zeros.
/// </summary>
internal static class SparseFileExtents
{
    public const int PageBytes = 4096;
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int NoDataAfterPosition = 6; // ENXIO

    /// <summary>
    /// The file's data extents in order, widened to whole pages. A file system that cannot say (lseek fails) has all
    /// that is left read as one extent.
    /// </summary>
    public static IEnumerable<(long Start, long End)> Of(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        for (var position = 0L; position < length && Next(file, position, length) is var (start, end); position = end)
        {
            yield return (start, end);
        }
    }

    /// <summary>The next data extent at or after <paramref name="position"/>; null when only holes are left.</summary>
    private static (long Start, long End)? Next(SafeFileHandle file, long position, long length)
    {
        var descriptor = (int)file.DangerousGetHandle();
        var start = Libc.lseek(descriptor, position, SeekData);
        if (start < 0)
        {
            return System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == NoDataAfterPosition ? null : (position, length);
        }

        var end = Libc.lseek(descriptor, start, SeekHole);
        end = end < 0 ? length : Math.Min(length, (end + PageBytes - 1) / PageBytes * PageBytes);
        return (start / PageBytes * PageBytes, end);
    }
}
