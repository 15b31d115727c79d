using VmPs.Core.Host;
using VmPs.Core.Processes;

namespace VmPs.Core.Storage;

/// <summary>Raw disk files holding one ext4 filesystem (overlays, ext4 volumes), changed on the host while no VM uses them.</summary>
internal static class Ext4Image
{
    /// <summary>
    /// Grows the file (sparse) to <paramref name="sizeBytes"/> and its filesystem to fill it, offline: e2fsck, then
    /// resize2fs on the file itself, no loop device. A failed check puts the file back to its size.
    /// </summary>
    /// <param name="owner">What the file is, for the error: "volume 'data'", "the disk of VM 'web'".</param>
    public static async Task GrowAsync(string path, long sizeBytes, string owner, CancellationToken cancellationToken)
    {
        var originalLength = new FileInfo(path).Length;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(sizeBytes);
        }

        // resize2fs insists on a freshly checked filesystem; -p repairs only what is safe without asking.
        var check = await ExternalTool.RunAsync(HostTools.Require(HostToolCatalog.E2fsck), ["-f", "-p", path], cancellationToken).ConfigureAwait(false);
        if (check.ExitCode > 1)
        {
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            {
                file.SetLength(originalLength);
            }

            throw new VmPsException(
                VmPsErrorIds.FilesystemDamaged,
                VmPsErrorKind.InvalidData,
                $"e2fsck found errors it cannot fix safely in {owner}: {check.StandardOutput.Trim()} {check.StandardError.Trim()}",
                path)
            {
                RecommendedAction = $"Repair it with e2fsck -f '{path}', then resize again.",
            };
        }

        await ExternalTool.RunCheckedAsync(HostTools.Require(HostToolCatalog.Resize2fs), [path], cancellationToken).ConfigureAwait(false);
    }
}
