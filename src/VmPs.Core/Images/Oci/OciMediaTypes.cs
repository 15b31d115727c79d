namespace VmPs.Core.Images.Oci;

/// <summary>The manifest, config and layer media types of the OCI image spec and Docker's v2 schema 2.</summary>
public static class OciMediaTypes
{
    public const string ImageManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string ImageIndex = "application/vnd.oci.image.index.v1+json";
    public const string ImageConfig = "application/vnd.oci.image.config.v1+json";
    public const string Layer = "application/vnd.oci.image.layer.v1.tar";
    public const string LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string LayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>The manifest kinds VmPs reads, in the Accept header's order of preference.</summary>
    public static IReadOnlyList<string> Manifests { get; } = [ImageIndex, DockerManifestList, ImageManifest, DockerManifest];

    public static bool IsIndex(string mediaType) => mediaType is ImageIndex or DockerManifestList;
}
