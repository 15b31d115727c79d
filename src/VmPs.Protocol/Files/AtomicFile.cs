namespace VmPs.Protocol.Files;

/// <summary>What a written file gets besides its content.</summary>
public sealed record FileMetadata(UnixFileMode Mode, DateTimeOffset? LastWriteTimeUtc = null, int? Uid = null, int? Gid = null);

/// <summary>
/// Replaces a file atomically: the content goes to a temporary file next to it, gets its owner, mode and
/// time, and is renamed over the target, so readers see the old file or the whole new one, never a part.
/// </summary>
public static class AtomicFile
{
    private const int CopyBufferBytes = 256 * 1024;

    /// <summary>Writes <paramref name="content"/> (null: empty) to <paramref name="path"/>; returns the bytes written.</summary>
    public static async Task<long> WriteAsync(string path, Stream? content, FileMetadata metadata, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path) ?? "/";
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.vmps-{Guid.NewGuid():N}");
        try
        {
            long written;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 0 };
            await using (var file = new FileStream(temporary, options))
            {
                // Private until complete: the final mode may grant more than the content should show half-written.
                UnixFileSystem.SetMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                if (content is not null)
                {
                    await content.CopyToAsync(file, CopyBufferBytes, cancellationToken).ConfigureAwait(false);
                }

                written = file.Length;
            }

            // chown clears set-id bits, so the owner goes first and the mode after it.
            if (metadata.Uid is not null || metadata.Gid is not null)
            {
                UnixFileSystem.SetOwner(temporary, metadata.Uid ?? -1, metadata.Gid ?? -1);
            }

            UnixFileSystem.SetMode(temporary, metadata.Mode);
            if (metadata.LastWriteTimeUtc is { } time)
            {
                UnixFileSystem.SetLastWriteTime(temporary, time);
            }

            File.Move(temporary, path, overwrite: true);
            return written;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
