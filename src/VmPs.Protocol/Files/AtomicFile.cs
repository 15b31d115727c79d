using Microsoft.Win32.SafeHandles;

namespace VmPs.Protocol.Files;

/// <summary>What a written file gets besides its content; null owner ids leave this process's.</summary>
public sealed record FileMetadata(UnixFileMode Mode, DateTimeOffset? LastWriteTimeUtc = null, int? Uid = null, int? Gid = null);

/// <summary>
/// Replaces a file atomically: the content goes to a temporary file next to it, gets its owner, mode and
/// time, and is renamed over the target, so readers see the old file or the whole new one, never a part.
/// </summary>
public static class AtomicFile
{
    private const int CopyBufferBytes = 256 * 1024;
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="content"/> (null: empty) to <paramref name="path"/>, a path the caller chose; returns the bytes written.</summary>
    public static async Task<long> WriteAsync(string path, Stream? content, FileMetadata metadata, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        using var directory = UnixDirectoryCalls.Open(
            UnixDirectoryCalls.CurrentDirectory,
            Path.GetDirectoryName(full) ?? "/",
            UnixDirectoryCalls.OpenPath | UnixDirectoryCalls.OpenDirectoryOnly);
        return await WriteAsync(directory, Path.GetFileName(full), content, metadata, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <paramref name="content"/> (null: empty) as <paramref name="name"/> in an open directory; the temporary
    /// file is created exclusively and never through a link. Returns the bytes written.
    /// </summary>
    public static async Task<long> WriteAsync(SafeFileHandle directory, string name, Stream? content, FileMetadata metadata, CancellationToken cancellationToken)
    {
        var temporary = $".{name}.vmps-{Guid.NewGuid():N}";
        if (temporary.Length > TarTreeExtractor.MaxNameBytes)
        {
            temporary = $".vmps-{Guid.NewGuid():N}";
        }

        try
        {
            long written;
            // Private until complete: the final mode may grant more than the content should show half-written.
            var handle = UnixDirectoryCalls.Open(
                directory,
                temporary,
                UnixDirectoryCalls.OpenWriteOnly | UnixDirectoryCalls.OpenCreate | UnixDirectoryCalls.OpenExclusive | UnixDirectoryCalls.OpenNoFollow,
                OwnerReadWrite);
            await using (var file = new FileStream(handle, FileAccess.Write, bufferSize: 0))
            {
                if (content is not null)
                {
                    await content.CopyToAsync(file, CopyBufferBytes, cancellationToken).ConfigureAwait(false);
                }

                written = file.Length;

                // chown clears set-id bits, so the owner goes first and the mode after it.
                if (metadata.Uid is not null || metadata.Gid is not null)
                {
                    UnixDirectoryCalls.SetOwner(directory, temporary, metadata.Uid ?? -1, metadata.Gid ?? -1);
                }

                UnixDirectoryCalls.SetMode(handle, metadata.Mode);
            }

            if (metadata.LastWriteTimeUtc is { } time)
            {
                UnixDirectoryCalls.SetLastWriteTime(directory, temporary, time);
            }

            UnixDirectoryCalls.Rename(directory, temporary, directory, name);
            return written;
        }
        catch
        {
            TryRemove(directory, temporary);
            throw;
        }
    }

    private static void TryRemove(SafeFileHandle directory, string temporary)
    {
        try
        {
            UnixDirectoryCalls.Unlink(directory, temporary, isDirectory: false);
        }
        catch (FileOperationException)
        {
            // Not created, or already gone.
        }
    }
}
