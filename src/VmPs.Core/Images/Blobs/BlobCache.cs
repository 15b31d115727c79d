using System.Security.Cryptography;
using VmPs.Core.Images.Oci;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Images.Blobs;

/// <summary>
/// The content-addressed blob store shared by all images: &lt;BlobCacheDirectory&gt;/sha256/&lt;hex&gt;. A file
/// under its final name has been verified against its digest and size; downloads go to "&lt;hex&gt;.partial",
/// which is exclusively locked by its writer (so concurrent adds of one digest, in this or another process,
/// end with one file) and kept after an interruption so the next add resumes from its length.
/// </summary>
public sealed class BlobCache
{
    /// <summary>The crash point (see CrashPoint) after the first bytes of a blob reached its partial file.</summary>
    public const string CrashDuringDownload = "New-VmImage: blob partly downloaded";

    private const string PartialSuffix = ".partial";
    /// <summary>EWOULDBLOCK on Linux: .NET reports a lock held by another open file with this errno as HResult.</summary>
    private const int LockHeldErrno = 11;

    private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly string directory;

    public BlobCache(VmPsPaths paths)
    {
        directory = Path.Combine(paths.BlobCacheDirectory, "sha256");
    }

    /// <summary>Where the blobs and partial downloads are.</summary>
    internal string FolderPath => directory;

    public string PathFor(string digest) => Path.Combine(directory, BlobDigest.Hex(digest));

    public bool Contains(string digest) => File.Exists(PathFor(digest));

    /// <summary>
    /// Streams the blob from <paramref name="open"/> (called with the number of bytes already on disk, which the
    /// returned stream must skip) into a partial file, verifying size and digest, then renames it into place.
    /// A blob already present is returned without calling <paramref name="open"/>. A mismatch deletes the
    /// partial file and throws "BlobDigestMismatch"; any other failure keeps it for a later resume.
    /// <paramref name="bytes"/> receives the blob's bytes on disk so far.
    /// </summary>
    public async Task<string> AddAsync(
        OciDescriptor descriptor,
        Func<long, CancellationToken, Task<Stream>> open,
        IProgress<long>? bytes,
        CancellationToken cancellationToken)
    {
        var finalPath = PathFor(descriptor.Digest);
        if (descriptor.Size < 0)
        {
            throw Mismatch(descriptor, $"its declared size {descriptor.Size} is negative");
        }

        PrivateFiles.CreateDirectory(directory);
        var partialPath = finalPath + PartialSuffix;
        while (true)
        {
            if (File.Exists(finalPath))
            {
                bytes?.Report(descriptor.Size);
                return finalPath;
            }

            var partial = TryLockPartial(partialPath);
            if (partial is null)
            {
                await Task.Delay(LockRetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using (partial.ConfigureAwait(false))
            {
                if (File.Exists(finalPath))
                {
                    // Another writer finished while we waited; the file we just created (empty) is litter.
                    if (partial.Length == 0)
                    {
                        File.Delete(partialPath);
                    }

                    continue;
                }

                await DownloadAsync(descriptor, partial, partialPath, open, bytes, cancellationToken).ConfigureAwait(false);
                File.Move(partialPath, finalPath, overwrite: true);
                return finalPath;
            }
        }
    }

    private static FileStream? TryLockPartial(string partialPath)
    {
        try
        {
            // FileShare.None takes an exclusive flock on Unix: one writer per partial file across processes.
            var partial = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 16, useAsync: true);
            PrivateFiles.MakePrivate(partial.SafeFileHandle);
            return partial;
        }
        catch (IOException ex) when (ex.HResult == LockHeldErrno)
        {
            return null;
        }
    }

    private static async Task DownloadAsync(
        OciDescriptor descriptor,
        FileStream partial,
        string partialPath,
        Func<long, CancellationToken, Task<Stream>> open,
        IProgress<long>? bytes,
        CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var offset = partial.Length > descriptor.Size ? 0 : partial.Length;
        partial.SetLength(offset);
        await HashExistingAsync(partial, hash, cancellationToken).ConfigureAwait(false);
        bytes?.Report(offset);

        var written = offset;
        if (offset < descriptor.Size)
        {
            var buffer = new byte[1 << 16];
            await using var source = await open(offset, cancellationToken).ConfigureAwait(false);
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (written + read > descriptor.Size)
                {
                    DeletePartial(partial, partialPath);
                    throw Mismatch(descriptor, $"the source sent more than the declared {descriptor.Size} bytes");
                }

                hash.AppendData(buffer, 0, read);
                await partial.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                written += read;
                if (written < descriptor.Size)
                {
                    CrashPoint.Reach(CrashDuringDownload);
                }

                bytes?.Report(written);
            }
        }

        if (written != descriptor.Size)
        {
            // A short body is an interrupted transfer, not proof of corruption: keep it for a resume.
            throw new VmPsException(
                VmPsErrorIds.BlobTruncated,
                VmPsErrorKind.ConnectionError,
                $"The transfer of blob {descriptor.Digest} ended after {written} of {descriptor.Size} bytes; pulling again resumes it.",
                descriptor.Digest);
        }

        var actual = BlobDigest.FromHash(hash.GetHashAndReset());
        if (actual != descriptor.Digest)
        {
            DeletePartial(partial, partialPath);
            throw Mismatch(descriptor, $"its content hashes to {actual}");
        }

        await partial.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task HashExistingAsync(FileStream partial, IncrementalHash hash, CancellationToken cancellationToken)
    {
        partial.Position = 0;
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await partial.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }
    }

    private static void DeletePartial(FileStream partial, string partialPath)
    {
        partial.SetLength(0);
        File.Delete(partialPath);
    }

    private static VmPsException Mismatch(OciDescriptor descriptor, string reason) => new(
        VmPsErrorIds.BlobDigestMismatch,
        VmPsErrorKind.InvalidData,
        $"Blob {descriptor.Digest} ({descriptor.Size} bytes) was rejected: {reason}. It was discarded and not used.",
        descriptor.Digest);
}
