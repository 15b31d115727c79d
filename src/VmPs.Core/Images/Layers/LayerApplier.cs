using System.Formats.Tar;
using VmPs.Core.Images.Oci;

namespace VmPs.Core.Images.Layers;

/// <summary>What applying a layer could not reproduce exactly, for the caller to show as warnings.</summary>
public sealed record LayerApplyResult(IReadOnlyList<string> Warnings);

public static class LayerApplier
{
    /// <summary>
    /// Applies one layer blob (tar, tar+gzip; tar+zstd via the zstd tool when installed, else VmPsException
    /// "UnsupportedLayerCompression" naming the media type) onto <paramref name="rootDirectory"/>. Never writes
    /// outside it: an escaping entry throws VmPsException "LayerEntryEscapesRoot" naming the layer digest and the
    /// entry. Without root, ownership is not applied and device nodes are skipped (listed in the result's warnings).
    /// </summary>
    public static async Task<LayerApplyResult> ApplyAsync(string rootDirectory, OciDescriptor layer, string blobPath, CancellationToken cancellationToken)
    {
        if (!File.Exists(blobPath))
        {
            throw new VmPsException(
                "LayerBlobNotFound",
                VmPsErrorKind.ObjectNotFound,
                $"Layer {layer.Digest}: its blob '{blobPath}' does not exist.",
                blobPath);
        }

        if (!Directory.Exists(rootDirectory))
        {
            throw new VmPsException(
                "LayerRootNotFound",
                VmPsErrorKind.ObjectNotFound,
                $"Cannot apply layer {layer.Digest}: the root directory '{rootDirectory}' does not exist.",
                rootDirectory);
        }

        await using var archive = LayerArchive.Open(layer, blobPath);
        await using var observed = new PaxXattrReader(archive);
        using var root = new LayerRoot(rootDirectory, layer.Digest);
        var extraction = new LayerExtraction(root, layer.Digest, observed);
        await using var reader = new TarReader(observed, leaveOpen: true);
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                await extraction.ApplyAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            extraction.SetDirectoryTimes();
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new VmPsException(
                "InvalidLayerArchive",
                VmPsErrorKind.InvalidData,
                $"Layer {layer.Digest} ({layer.MediaType}) is not a readable archive: {ex.Message}",
                layer.Digest,
                ex);
        }

        return new LayerApplyResult(extraction.Warnings);
    }
}
