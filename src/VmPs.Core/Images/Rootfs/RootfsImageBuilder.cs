using VmPs.Core.Images.Layers;

namespace VmPs.Core.Images.Rootfs;

public static class RootfsImageBuilder
{
    /// <summary>
    /// Builds the bootable filesystem image from a directory: erofs (mkfs.erofs, lz4 when supported) or ext4
    /// (mkfs.ext4 -d, sized to content + headroom). Owners, modes, times and xattrs are kept as in the tree;
    /// <paramref name="deviceNodes"/> (placeholders in the tree, see DeviceNodeTable) become device nodes inside the
    /// image file only. Returns the image file's size in bytes. On failure no output file is left behind; a failing
    /// tool's stderr is in the VmPsException "RootfsBuildFailed".
    /// </summary>
    public static async Task<long> BuildAsync(
        string rootDirectory, ImageFormat format, string outputPath, IReadOnlyList<DeviceNode> deviceNodes, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(rootDirectory))
        {
            throw new VmPsException(
                VmPsErrorIds.RootfsSourceNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"Cannot build a root filesystem from '{rootDirectory}': the directory does not exist.",
                rootDirectory);
        }

        if (File.Exists(outputPath))
        {
            throw new VmPsException(
                VmPsErrorIds.RootfsOutputExists,
                VmPsErrorKind.ResourceExists,
                $"Cannot build a root filesystem image at '{outputPath}': the file already exists.",
                outputPath);
        }

        try
        {
            switch (format)
            {
                case ImageFormat.Erofs:
                    await ErofsBuilder.BuildAsync(rootDirectory, outputPath, ErofsMetadata.Preserve, cancellationToken).ConfigureAwait(false);
                    ErofsDeviceNodes.Write(outputPath, deviceNodes);
                    break;
                case ImageFormat.Ext4:
                    await Ext4Builder.BuildAsync(rootDirectory, outputPath, cancellationToken).ConfigureAwait(false);
                    await Ext4DeviceNodes.WriteAsync(outputPath, deviceNodes, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format.");
            }

            return new FileInfo(outputPath).Length;
        }
        catch (Exception ex)
        {
            if (File.Exists(outputPath))
            {
                File.Delete(outputPath);
            }

            if (ex is VmPsException { ErrorId: VmPsErrorIds.ExternalToolFailed } toolFailure)
            {
                throw new VmPsException(
                    VmPsErrorIds.RootfsBuildFailed,
                    VmPsErrorKind.InvalidOperation,
                    $"Building the {format} image '{outputPath}' failed: {toolFailure.Message}",
                    outputPath,
                    toolFailure);
            }

            throw;
        }
    }
}
