using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;

namespace VmPs.Core.Images.Registry;

/// <summary>
/// An image in a registry: resolves the reference (an index or manifest list selects <c>platform</c>), then
/// downloads the config and layers into the blob cache. Credentials: the explicit ones, else docker's config.
/// </summary>
public sealed class RegistryImageSource : IImageSource
{
    private readonly ImageReference reference;
    private readonly RegistryCredentials? credentials;
    private readonly OciPlatform platform;
    private readonly bool insecure;
    private readonly DockerConfigCredentials dockerConfig;
    private readonly Func<HttpMessageHandler>? handlerFactory;

    public RegistryImageSource(ImageReference reference, RegistryCredentials? credentials, OciPlatform platform, bool insecure)
        : this(reference, credentials, platform, insecure, DockerConfigCredentials.Default(), handlerFactory: null)
    {
    }

    /// <summary>For tests: a docker config of their own and an HTTP handler they observe.</summary>
    internal RegistryImageSource(
        ImageReference reference,
        RegistryCredentials? credentials,
        OciPlatform platform,
        bool insecure,
        DockerConfigCredentials dockerConfig,
        Func<HttpMessageHandler>? handlerFactory)
    {
        this.reference = reference;
        this.credentials = credentials;
        this.platform = platform;
        this.insecure = insecure;
        this.dockerConfig = dockerConfig;
        this.handlerFactory = handlerFactory;
    }

    public async Task<FetchedImage> FetchAsync(BlobCache cache, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        using var client = new RegistryClient(reference, credentials, dockerConfig, insecure, handlerFactory?.Invoke());
        progress?.Report(new ImagePullProgress("manifest", 0, 0, 0, 0));
        var resolved = await client.GetManifestAsync(reference.ManifestReference, cancellationToken).ConfigureAwait(false);
        OciPlatform? selected = null;
        if (resolved.Document is OciIndex index)
        {
            var entry = index.SelectPlatform(platform, reference.ToString());
            selected = entry.Platform;
            resolved = await client.GetManifestAsync(entry.Digest, cancellationToken).ConfigureAwait(false);
        }

        if (resolved.Document is not OciManifest manifest)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestInvalid,
                VmPsErrorKind.InvalidData,
                $"{reference}: an index entry points to another index instead of an image manifest.",
                reference.ToString());
        }

        return await ImageBlobFetcher.FetchAsync(
            reference.ToString(),
            resolved.Digest,
            manifest,
            selected,
            client.OpenBlobAsync,
            cache,
            progress,
            cancellationToken).ConfigureAwait(false);
    }
}
