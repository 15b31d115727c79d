using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace VmPs.Core.Storage;

/// <summary>
/// A SHA-256 digest of a file's content whose cost follows the data the file holds, not its length: a guest's RAM
/// file is as long as its memory and mostly holes. It hashes each 4 KiB page that is not all zeros, after its offset,
/// and reads only the file's data extents (<see cref="SparseFileExtents"/>), since a hole reads as zeros. So two files with the
/// same bytes have one digest whatever their holes, and any changed byte changes it (lengths are compared apart).
/// </summary>
internal static class SparseFileDigest
{
    private const int PageBytes = SparseFileExtents.PageBytes;
    private const int ChunkBytes = 1 << 20;

    public static async Task<string> ComputeAsync(SafeFileHandle file, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = GC.AllocateUninitializedArray<byte>(ChunkBytes);
        var offset = new byte[sizeof(long)];
        foreach (var (start, end) in SparseFileExtents.Of(file))
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
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }
}
