using System.IO.Compression;
using VmPs.Core.Images.Oci;

namespace VmPs.Core.Images.Layers;

/// <summary>
/// Opens a layer blob as the plain tar stream its media type says it compresses. zstd is decoded in process by
/// ZstdSharp.Port with libzstd's default window limit (128 MiB, ZSTD_WINDOWLOG_LIMIT_DEFAULT): a frame that
/// asks for a larger window (zstd --long=31) is refused rather than allowed to allocate up to 2 GiB.
/// </summary>
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
        if (!PlainTar.Contains(layer.MediaType) && !GzipTar.Contains(layer.MediaType) && !ZstdTar.Contains(layer.MediaType))
        {
            throw new VmPsException(
                VmPsErrorIds.UnsupportedLayerMediaType,
                VmPsErrorKind.InvalidData,
                $"Layer {layer.Digest} has media type '{layer.MediaType}', which is not a tar layer VmPs can apply (tar, tar+gzip, tar+zstd).",
                layer.Digest);
        }

        var file = new FileStream(blobPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
        return GzipTar.Contains(layer.MediaType) ? new GZipStream(file, CompressionMode.Decompress)
            : ZstdTar.Contains(layer.MediaType) ? new ZstdSharp.DecompressionStream(file)
            : file;
    }
}
