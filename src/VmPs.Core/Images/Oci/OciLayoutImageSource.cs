using VmPs.Core.Images.Blobs;

namespace VmPs.Core.Images.Oci;

/// <summary>
/// An image in an OCI image layout directory (oci-layout, index.json, blobs/sha256/...), as written by
/// skopeo copy oci:DIR:TAG or buildah. <c>tag</c> is matched against org.opencontainers.image.ref.name;
/// nested indexes are resolved to <c>platform</c>. Every blob read is verified against its digest.
/// </summary>
public sealed class OciLayoutImageSource : IImageSource
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    private readonly string directory;
    private readonly string? tag;
    private readonly OciPlatform platform;

    public OciLayoutImageSource(string directory, string? tag, OciPlatform platform)
    {
        this.directory = Path.GetFullPath(directory);
        this.tag = tag;
        this.platform = platform;
    }

    private string SourceReference => tag is null ? directory : $"{directory}:{tag}";

    public async Task<FetchedImage> FetchAsync(BlobCache cache, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ImagePullProgress("manifest", 0, 0, 0, 0));
        var indexPath = Path.Combine(directory, "index.json");
        if (!File.Exists(Path.Combine(directory, "oci-layout")) || !File.Exists(indexPath))
        {
            throw new VmPsException(
                VmPsErrorIds.OciLayoutInvalid,
                VmPsErrorKind.InvalidArgument,
                $"{directory} is not an OCI image layout: it needs an oci-layout file and an index.json.",
                directory);
        }

        if (new FileInfo(indexPath).Length > OciLimits.MaxDocumentBytes)
        {
            throw new VmPsException(VmPsErrorIds.OciLayoutInvalid, VmPsErrorKind.LimitsExceeded, $"{indexPath} is larger than {OciLimits.MaxDocumentBytes} bytes.", indexPath);
        }

        var topIndex = OciManifestDocument.Parse(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false), OciMediaTypes.ImageIndex, indexPath) as OciIndex
            ?? throw new VmPsException(VmPsErrorIds.OciLayoutInvalid, VmPsErrorKind.InvalidData, $"{indexPath} is not an image index.", indexPath);

        var descriptor = SelectEntry(topIndex);
        OciPlatform? selected = descriptor.Platform;
        var document = await ReadDocumentAsync(descriptor, cancellationToken).ConfigureAwait(false);
        while (document is OciIndex nested)
        {
            descriptor = nested.SelectPlatform(platform, SourceReference);
            selected = descriptor.Platform;
            document = await ReadDocumentAsync(descriptor, cancellationToken).ConfigureAwait(false);
        }

        return await ImageBlobFetcher.FetchAsync(
            SourceReference,
            descriptor.Digest,
            (OciManifest)document,
            selected,
            OpenBlobAsync,
            cache,
            progress,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The index.json entry for the tag; without a tag the only entry, or the entry for the platform.</summary>
    private OciDescriptor SelectEntry(OciIndex index)
    {
        if (tag is not null)
        {
            return index.Manifests.FirstOrDefault(entry => RefName(entry) == tag)
                ?? throw new VmPsException(
                    VmPsErrorIds.ImageTagNotFound,
                    VmPsErrorKind.ObjectNotFound,
                    $"The OCI layout {directory} has no image tagged '{tag}'; tags: {DescribeTags(index)}.",
                    SourceReference);
        }

        if (index.Manifests.Count == 1)
        {
            return index.Manifests[0];
        }

        if (index.Manifests.Count == 0)
        {
            throw new VmPsException(VmPsErrorIds.ImageTagNotFound, VmPsErrorKind.ObjectNotFound, $"The OCI layout {directory} holds no image.", directory);
        }

        if (index.Manifests.Any(entry => entry.Platform is not null))
        {
            return index.SelectPlatform(platform, directory);
        }

        throw new VmPsException(
            VmPsErrorIds.ImageTagRequired,
            VmPsErrorKind.InvalidArgument,
            $"The OCI layout {directory} holds {index.Manifests.Count} images; pass -Tag with one of: {DescribeTags(index)}.",
            directory);
    }

    private static string? RefName(OciDescriptor entry) =>
        entry.Annotations is not null && entry.Annotations.TryGetValue(RefNameAnnotation, out var name) ? name : null;

    private static string DescribeTags(OciIndex index)
    {
        var tags = index.Manifests.Select(RefName).OfType<string>().ToList();
        return tags.Count == 0 ? "none" : string.Join(", ", tags);
    }

    private async Task<OciManifestDocument> ReadDocumentAsync(OciDescriptor descriptor, CancellationToken cancellationToken)
    {
        var path = BlobPath(descriptor.Digest);
        if (descriptor.Size > OciLimits.MaxDocumentBytes || new FileInfo(path).Length != descriptor.Size)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestDigestMismatch,
                VmPsErrorKind.InvalidData,
                $"{path} is not the {descriptor.Size}-byte manifest its descriptor names (manifests may have at most {OciLimits.MaxDocumentBytes} bytes).",
                path);
        }

        var content = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        if (content.Length != descriptor.Size || BlobDigest.Compute(content) != descriptor.Digest)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestDigestMismatch,
                VmPsErrorKind.InvalidData,
                $"{path} does not match its descriptor ({descriptor.Digest}, {descriptor.Size} bytes).",
                path);
        }

        return OciManifestDocument.Parse(content, descriptor.MediaType, $"{SourceReference}@{descriptor.Digest}");
    }

    private Task<Stream> OpenBlobAsync(OciDescriptor blob, long offset, CancellationToken cancellationToken)
    {
        var stream = new FileStream(BlobPath(blob.Digest), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        stream.Position = offset;
        return Task.FromResult<Stream>(stream);
    }

    private string BlobPath(string digest)
    {
        var path = Path.Combine(directory, "blobs", "sha256", BlobDigest.Hex(digest));
        return File.Exists(path)
            ? path
            : throw new VmPsException(VmPsErrorIds.BlobNotFound, VmPsErrorKind.ObjectNotFound, $"The OCI layout {directory} lacks blob {digest}.", digest);
    }
}
