using VmPs.Core.Archives;
using VmPs.Core.Images.Oci;
using VmPs.Protocol.Archives;
using VmPs.Protocol.Files;

namespace VmPs.Core.Images.Layers;

/// <summary>What applying a layer could not reproduce exactly, for the caller to show as warnings.</summary>
public sealed record LayerApplyResult(IReadOnlyList<string> Warnings);

public static class LayerApplier
{
    /// <summary>
    /// Applies one layer blob (tar, tar+gzip, tar+zstd) onto <paramref name="rootDirectory"/>, reading it within
    /// <see cref="TarLimits.Default"/>. Never writes outside it: an escaping entry throws VmPsException
    /// "LayerEntryEscapesRoot" naming the layer digest and the entry; a malformed, truncated or oversized archive
    /// "LayerArchiveInvalid", "LayerArchiveTruncated" or "LayerArchiveLimitExceeded". Device nodes are recorded in
    /// <paramref name="devices"/> (never created on the host). Without root, ownership is not applied (a warning).
    /// </summary>
    internal static async Task<LayerApplyResult> ApplyAsync(
        string rootDirectory, OciDescriptor layer, string blobPath, DeviceNodeTable devices, CancellationToken cancellationToken)
    {
        if (!File.Exists(blobPath))
        {
            throw new VmPsException(
                VmPsErrorIds.LayerBlobNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"Layer {layer.Digest}: its blob '{blobPath}' does not exist.",
                blobPath);
        }

        if (!Directory.Exists(rootDirectory))
        {
            throw new VmPsException(
                VmPsErrorIds.LayerRootNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"Cannot apply layer {layer.Digest}: the root directory '{rootDirectory}' does not exist.",
                rootDirectory);
        }

        using var root = ConfinedDirectory.Open(rootDirectory, Confinement.InRoot);
        var extraction = new LayerExtraction(root, layer.Digest, devices);
        await using var reader = new TarArchiveReader(LayerArchive.Open(layer, blobPath), TarLimits.Default);
        try
        {
            while (await reader.ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
            {
                await extraction.ApplyAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            extraction.SetDirectoryTimes();
        }
        catch (TarArchiveException ex)
        {
            throw TarArchiveFailure.ToVmPsException(ex, "LayerArchive", $"Layer {layer.Digest} ({layer.MediaType})", layer.Digest);
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new VmPsException(
                VmPsErrorIds.LayerArchiveInvalid,
                VmPsErrorKind.InvalidData,
                $"Layer {layer.Digest} ({layer.MediaType}) does not decompress: {ex.Message}",
                layer.Digest,
                ex);
        }

        return new LayerApplyResult(extraction.Warnings);
    }
}
