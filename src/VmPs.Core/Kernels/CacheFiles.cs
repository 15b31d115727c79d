using System.Runtime.InteropServices;
using VmPs.Core.Native;
using VmPs.Core.State;

namespace VmPs.Core.Kernels;

/// <summary>
/// File operations the kernel cache needs to publish an entry atomically: durable writes, private
/// directories, an atomic swap of two directories and an atomic replacement of a symbolic link.
/// </summary>
internal static class CacheFiles
{
    private const uint RenameExchange = 2; // RENAME_EXCHANGE
    private const int AtCurrentDirectory = -100; // AT_FDCWD
    private const int OpenReadOnly = 0;
    private const int OpenDirectory = 0x10000;
    private const int OpenCloseOnExec = 0x80000;

    /// <summary>Writes the file and flushes it to the disk before returning.</summary>
    public static void WriteDurably(string path, ReadOnlySpan<byte> content)
    {
        using var file = PrivateFiles.Open(path, FileMode.Create, FileAccess.Write);
        file.Write(content);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Copies the file and flushes the copy to the disk before returning.</summary>
    public static async Task CopyDurablyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var output = PrivateFiles.Open(destination, FileMode.CreateNew, FileAccess.Write, 1 << 16);
        await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        output.Flush(flushToDisk: true);
    }

    /// <summary>Exchanges two existing directories in one step (renameat2 RENAME_EXCHANGE): no moment sees neither.</summary>
    public static void Exchange(string first, string second) =>
        Check(Libc.renameat2(AtCurrentDirectory, first, AtCurrentDirectory, second, RenameExchange), "renameat2", second);

    /// <summary>Points the symbolic link <paramref name="link"/> at <paramref name="target"/>, replacing it in one rename.</summary>
    public static void ReplaceSymbolicLink(string link, string target)
    {
        var temporary = $"{link}.{Guid.NewGuid():N}.tmp";
        File.CreateSymbolicLink(temporary, target);
        Check(Libc.rename(temporary, link), "rename", link);
    }

    /// <summary>Makes the directory's entries (a rename, a new file) durable.</summary>
    public static void SyncDirectory(string path)
    {
        // open(2): FileStream and File.OpenHandle refuse directories.
        var descriptor = Libc.open(path, OpenReadOnly | OpenDirectory | OpenCloseOnExec, 0);
        Check(descriptor < 0 ? -1 : 0, "open", path);
        try
        {
            Check(Libc.fsync(descriptor), "fsync", path);
        }
        finally
        {
            _ = Libc.close(descriptor);
        }
    }

    private static void Check(int result, string call, string path)
    {
        if (result != 0)
        {
            throw new IOException($"{call} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }
}
