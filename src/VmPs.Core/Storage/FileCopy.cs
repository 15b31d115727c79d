using System.Runtime.InteropServices;
using Newtonsoft.Json.Converters;
using VmPs.Core.Native;
using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>How a file copy was made, cheapest first.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum CopyMethod
{
    /// <summary>The copy shares the source's blocks (FICLONE on btrfs, XFS, bcachefs...): instant, nothing written.</summary>
    Reflink,

    /// <summary>The copy is a qcow2 image over a frozen base it shares with the source: instant, nothing written.</summary>
    BackingFile,

    /// <summary>Every allocated block was read and written (holes stay holes): as slow as the data is large.</summary>
    FullCopy,
}

/// <summary>
/// Copies large files (disks, memory images) as cheaply as the host file system allows: a reflink where it can
/// share blocks, else a sparse full copy. The destination is new (never replaced) and private (0600); a failed
/// copy leaves no destination. Backing-file copies need a base that is never written again, which only the
/// owner of the file can promise, so they are made by the owner (volumes), not here.
/// </summary>
internal static class FileCopy
{
    /// <summary>FICLONE = _IOW(0x94, 9, int): the destination shares the source's extents.</summary>
    private const ulong FicLone = 0x40049409;

    /// <summary>Zero blocks of this size are skipped, leaving holes, as cp --sparse=always does.</summary>
    private const int BlockSize = 64 * 1024;

    /// <summary>A reflink where the file system can, else a sparse full copy; says which.</summary>
    public static async Task<CopyMethod> CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        if (TryReflink(source, destination))
        {
            return CopyMethod.Reflink;
        }

        await SparseCopyAsync(source, destination, cancellationToken).ConfigureAwait(false);
        return CopyMethod.FullCopy;
    }

    /// <summary>
    /// Makes <paramref name="destination"/> a reflink of <paramref name="source"/>; false (and no destination) where
    /// the file system cannot share blocks or the two are on different file systems.
    /// </summary>
    public static bool TryReflink(string source, string destination)
    {
        using var input = File.OpenHandle(source, FileMode.Open, FileAccess.Read);
        int error;
        using (var output = PrivateFiles.Open(destination, FileMode.CreateNew, FileAccess.Write, BlockSize))
        {
            if (Libc.ioctl((int)output.SafeFileHandle.DangerousGetHandle(), FicLone, input.DangerousGetHandle()) == 0)
            {
                return true;
            }

            error = Marshal.GetLastPInvokeError();
        }

        File.Delete(destination);
        return CannotShareBlocks(error)
            ? false
            : throw new IOException($"Cloning '{source}' to '{destination}' failed: {Marshal.GetPInvokeErrorMessage(error)}.");
    }

    /// <summary>
    /// Reads the source's data extents (<see cref="SparseFileExtents"/>) and writes their non-zero blocks; the
    /// destination has the source's length and holes where the source has holes or zero blocks.
    /// </summary>
    public static async Task SparseCopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        using var input = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.Read);
        // Opened before the try: a destination that already exists is refused and never deleted.
        await using var output = PrivateFiles.Open(destination, FileMode.CreateNew, FileAccess.Write, BlockSize);
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(BlockSize);
            foreach (var (start, end) in SparseFileExtents.Of(input))
            {
                for (var block = start; block < end;)
                {
                    var read = await RandomAccess.ReadAsync(input, buffer.AsMemory(0, (int)Math.Min(BlockSize, end - block)), block, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
                    {
                        output.Position = block;
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }

                    block += read;
                }
            }

            output.SetLength(RandomAccess.GetLength(input));
            output.Flush(flushToDisk: true);
        }
        catch
        {
            File.Delete(destination);
            throw;
        }
    }

    /// <summary>EOPNOTSUPP, EXDEV, EINVAL, ENOTTY, ENOSYS: this file system (or this pair) cannot reflink.</summary>
    private static bool CannotShareBlocks(int error) => error is 95 or 18 or 22 or 25 or 38;
}
