using System.IO.Compression;
using VmPs.Core.Images.Oci;

namespace VmPs.Core.Images.Layers;

/// <summary>Opens a layer blob as the plain tar stream its media type says it compresses.</summary>
internal static class LayerArchive
{
    private static readonly HashSet<string> PlainTar =
    [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.docker.image.rootfs.diff.tar",
    ];

    private static readonly HashSet<string> GzipTar =
    [
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ];

    private static readonly HashSet<string> ZstdTar =
    [
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    ];

    public static Stream Open(OciDescriptor layer, string blobPath)
    {
        if (ZstdTar.Contains(layer.MediaType))
        {
            return ZstdProcessStream.Start(layer, blobPath);
        }

        if (!PlainTar.Contains(layer.MediaType) && !GzipTar.Contains(layer.MediaType))
        {
            throw new VmPsException(
                "UnsupportedLayerMediaType",
                VmPsErrorKind.InvalidData,
                $"Layer {layer.Digest} has media type '{layer.MediaType}', which is not a tar layer VmPs can apply (tar, tar+gzip, tar+zstd).",
                layer.Digest);
        }

        var file = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        return GzipTar.Contains(layer.MediaType) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }
}
