using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>
/// The VM's writable disk: a sparse file formatted ext4, so it costs only what the guest writes; with -DiskFormat
/// Qcow2 that filesystem inside a qcow2 image (qemu-img).
/// </summary>
internal static class OverlayDisk
{
    public const string Label = "vmps-overlay";

    /// <summary>
    /// mkfs.ext4's arguments for the disk at <paramref name="path"/>. Lazy init leaves inode tables and the journal
    /// zero-filled on demand: a file stays sparse, a thin volume unallocated, and mkfs is fast.
    /// </summary>
    public static string[] MkfsArguments(string path) => ["-q", "-F", "-L", Label, "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", path];

    /// <summary>Creates and formats the disk; on failure the file is removed.</summary>
    /// <param name="mkfsProgram">An explicit mkfs.ext4 path; null finds the host's.</param>
    public static async Task CreateAsync(string path, DiskImageFormat format, int sizeGiB, CancellationToken cancellationToken, string? mkfsProgram = null)
    {
        if (format == DiskImageFormat.Qcow2)
        {
            await QemuImage.CreateFromRawAsync(path, raw => CreateAsync(raw, DiskImageFormat.Raw, sizeGiB, cancellationToken, mkfsProgram), cancellationToken).ConfigureAwait(false);
            return;
        }

        var mkfs = mkfsProgram ?? HostTools.Require(HostToolCatalog.MkfsExt4);
        try
        {
            await using (var file = PrivateFiles.Open(path, FileMode.CreateNew, FileAccess.Write))
            {
                file.SetLength((long)sizeGiB * 1024 * 1024 * 1024);
            }

            await ExternalTool.RunCheckedAsync(mkfs, MkfsArguments(path), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
