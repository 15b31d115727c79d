using System.Globalization;
using VmPs.Core.Host;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;

namespace VmPs.Core.Images.Rootfs;

/// <summary>
/// Packs a directory tree into an ext4 image with mkfs.ext4 -d on a sparse file sized to the tree's content
/// plus headroom. Owners, modes, times and xattrs come from the tree; the image has no journal and no
/// reserved blocks because VMs mount it read-only beneath their overlay.
/// </summary>
internal static class Ext4Builder
{
    private const long MiB = 1024 * 1024;
    private const long HeadroomBytes = 64 * MiB;
    private const long InodeSize = 256;

    public static async Task BuildAsync(string sourceDirectory, string outputPath, CancellationToken cancellationToken)
    {
        var mkfs = HostTools.Require(HostToolCatalog.MkfsExt4);
        var (bytes, inodes) = await MeasureAsync(sourceDirectory, cancellationToken).ConfigureAwait(false);
        var inodeCount = inodes + (inodes / 5) + 1024;
        var contentBytes = bytes + (inodeCount * InodeSize);
        var imageBytes = RoundUp(contentBytes + (contentBytes / 5) + HeadroomBytes, MiB);
        await using (var image = PrivateFiles.Open(outputPath, FileMode.CreateNew, FileAccess.Write))
        {
            image.SetLength(imageBytes);
        }

        await ExternalTool.RunCheckedAsync(
            mkfs,
            [
                "-q", "-F", "-t", "ext4", "-b", "4096", "-I", InodeSize.ToString(CultureInfo.InvariantCulture),
                "-N", inodeCount.ToString(CultureInfo.InvariantCulture), "-m", "0", "-O", "^has_journal",
                "-E", "root_owner=0:0", "-d", sourceDirectory, outputPath,
            ],
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disk usage (hardlinked files counted once) and inode count of the tree, as du reports them.</summary>
    private static async Task<(long Bytes, long Inodes)> MeasureAsync(string directory, CancellationToken cancellationToken)
    {
        var bytes = await ExternalTool.RunCheckedAsync("du", ["-s", "-x", "--block-size=1", directory], cancellationToken).ConfigureAwait(false);
        var inodes = await ExternalTool.RunCheckedAsync("du", ["-s", "-x", "--inodes", directory], cancellationToken).ConfigureAwait(false);
        return (FirstNumber(bytes.StandardOutput), FirstNumber(inodes.StandardOutput));
    }

    private static long FirstNumber(string duOutput) =>
        long.Parse(duOutput.AsSpan(0, duOutput.IndexOf('\t')), CultureInfo.InvariantCulture);

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
