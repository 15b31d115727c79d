using VmPs.Core.Images.Blobs;

namespace VmPs.Core.Images.Oci;

/// <summary>
/// What a source produced: after <see cref="IImageSource.FetchAsync"/> returns, the config blob and every
/// layer blob are in the <see cref="BlobCache"/>, verified.
/// </summary>
public sealed record FetchedImage(
    string SourceReference,
    string ManifestDigest,
    OciDescriptor Config,
    IReadOnlyList<OciDescriptor> Layers,
    OciPlatform Platform);

/// <summary>A progress report of a pull: <see cref="Phase"/> names the step ("manifest", "download", ...).</summary>
public sealed record ImagePullProgress(string Phase, long BytesDone, long BytesTotal, int LayersDone, int LayersTotal);

/// <summary>Where an image comes from: a registry, an OCI layout directory, a docker-save archive.</summary>
public interface IImageSource
{
    Task<FetchedImage> FetchAsync(BlobCache cache, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken);
}
