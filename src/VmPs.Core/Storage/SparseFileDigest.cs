using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using VmPs.Core.Native;

namespace VmPs.Core.Storage;

/// <summary>
/// A SHA-256 digest of a file's content whose cost follows the data the file holds, not its length: a guest's RAM
/// file is as long as its memory and mostly holes. It hashes each 4 KiB page that is not all zeros, after its offset,
/// and reads only the file's data extents (SEEK_DATA/SEEK_HOLE), since a hole reads as zeros. So two files with the
/// same bytes have one digest whatever their holes, and any changed byte changes it (lengths are compared apart).
/// </summary>
internal static class SparseFileDigest
{
    private const int PageBytes = 4096;
    private const int ChunkBytes = 1 << 20;
    private const int SeekData = 3;
    private const int SeekHole = 4;

    public static async Task<string> ComputeAsync(SafeFileHandle file, CancellationToken cancellationToken)
    {
        var length = RandomAccess.GetLength(file);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = GC.AllocateUninitializedArray<byte>(ChunkBytes);
        var offset = new byte[sizeof(long)];
        for (var position = 0L; position < length && DataExtent(file, position, length) is var (start, end);)
        {
            for (var chunk = start; chunk < end;)
            {
                var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, (int)Math.Min(ChunkBytes, end - chunk)), chunk, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                for (var page = 0; page < read; page += PageBytes)
                {
                    var bytes = buffer.AsSpan(page, Math.Min(PageBytes, read - page));
                    if (bytes.ContainsAnyExcept((byte)0))
                    {
                        BinaryPrimitives.WriteInt64LittleEndian(offset, chunk + page);
                        hash.AppendData(offset);
                        hash.AppendData(bytes);
                    }
                }

                chunk += read;
            }

            position = end;
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>
    /// The next data extent at or after <paramref name="position"/>, widened to whole pages; null when only holes are
    /// left. A file system that cannot say (lseek fails) has its whole rest read.
    /// </summary>
    private static (long Start, long End)? DataExtent(SafeFileHandle file, long position, long length)
    {
        var descriptor = (int)file.DangerousGetHandle();
        var start = Libc.lseek(descriptor, position, SeekData);
        if (start < 0)
        {
            // ENXIO: no data after position.
            return System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == 6 ? null : (position, length);
        }

        var end = Libc.lseek(descriptor, start, SeekHole);
        end = end < 0 ? length : Math.Min(length, (end + PageBytes - 1) / PageBytes * PageBytes);
        return (start / PageBytes * PageBytes, end);
    }
}
