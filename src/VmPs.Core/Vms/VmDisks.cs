using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;

namespace VmPs.Core.Vms;

/// <summary>
/// A VM's own disk where the host's storage backend puts it: a file in the VM's directory (File), or a thin volume
/// the disk file links to (LvmThin: an empty formatted volume for a direct boot, a snapshot of the image's base for a
/// disk image; see <see cref="ThinVmDisk"/>). Everything that makes, grows, measures or deletes a VM's disk asks here,
/// so the two backends differ in this type only.
/// </summary>
internal sealed class VmDisks
{
    private readonly VmPsPaths paths;
    private readonly HostContext host;

    public VmDisks(VmPsPaths paths, HostContext host)
    {
        this.paths = paths;
        this.host = host;
    }

    /// <summary>The thin pool a new VM's disk goes to, refusing what a thin disk cannot be; null: a file.</summary>
    public async Task<LvmThinStorage?> PoolForNewAsync(VmCreateOptions options, ImageKind kind, CancellationToken cancellationToken)
    {
        var settings = await host.StorageAsync(cancellationToken).ConfigureAwait(false);
        if (settings.Backend != StorageBackend.LvmThin)
        {
            return null;
        }

        if (kind == ImageKind.Oci && options.DiskFormat == DiskImageFormat.Qcow2)
        {
            throw StorageErrors.NewThinVmDiskUnsupported(options.Name, settings);
        }

        return host.LvmThin.Storage(settings);
    }

    /// <summary>A direct-boot VM's writable disk <paramref name="diskFile"/>, empty and formatted ext4.</summary>
    public async Task CreateOverlayAsync(LvmThinStorage? pool, VmFiles files, Guid vmId, string diskFile, DiskImageFormat format, int sizeGiB, string? mkfsProgram, CancellationToken cancellationToken)
    {
        if (pool is null)
        {
            await OverlayDisk.CreateAsync(files.Disk(diskFile), format, sizeGiB, cancellationToken, mkfsProgram).ConfigureAwait(false);
            return;
        }

        new ThinVmDisk(pool.Planner.VolumeGroup, vmId).Link(files.Disk(diskFile));
        await pool.CreateVmOverlayAsync(vmId, (long)sizeGiB << 30, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A disk image VM's disk <paramref name="diskFile"/>: a qcow2 overlay over the image's file, or a snapshot of the
    /// image's base in the pool, which the first VM of the image there writes under the image's lock.
    /// </summary>
    public async Task CreateSystemDiskAsync(LvmThinStorage? pool, VmFiles files, Guid vmId, string diskFile, ImageInfo image, int sizeGiB, CancellationToken cancellationToken)
    {
        if (pool is null)
        {
            DiskImageBoot.CreateSystemDisk(files, diskFile, image, sizeGiB);
            return;
        }

        new ThinVmDisk(pool.Planner.VolumeGroup, vmId).Link(files.Disk(diskFile));
        var baseImage = new BaseImage(
            Guid.Parse(image.Id),
            image.VirtualSizeBytes ?? throw new InvalidOperationException($"The disk image '{image.Name}' has no virtual size."),
            image.RootfsPath,
            DiskImageBoot.BaseFormatOf(image));
        using (await FileLock.AcquireAsync(ImageDisk.NameLock(paths, image.Name), FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false))
        {
            await pool.CreateVmDiskAsync(vmId, (long)sizeGiB << 30, baseImage, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Grows the stopped VM's disk to <paramref name="sizeGiB"/>, with the ext4 of a direct boot's disk. resize2fs cannot
    /// open a qcow2 image, and a disk image's partitions are the guest's: the guest grows those at its next boot (a
    /// disk image's cloud-init grows its root partition).
    /// </summary>
    public async Task GrowAsync(VmRecord vm, VmFiles files, int sizeGiB, CancellationToken cancellationToken)
    {
        var path = files.Disk(vm.DiskFileName);
        var sizeBytes = (long)sizeGiB << 30;
        if (ThinVmDisk.Find(path, vm.Id) is { } thin)
        {
            await host.LvmThin.Run(thin.Extend(sizeBytes, growFilesystem: vm.ImageKind == ImageKind.Oci), cancellationToken).ConfigureAwait(false);
        }
        else if (vm.DiskFormat == DiskImageFormat.Qcow2)
        {
            await QemuImage.ResizeAsync(path, DiskImageFormat.Qcow2, sizeBytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Ext4Image.GrowAsync(path, sizeBytes, $"the disk of VM '{vm.Name}'", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The bytes each VM's disk holds, by VM: a file's allocated blocks, a thin volume's pool blocks (<see cref="ThinUsage"/>).</summary>
    public async Task<IReadOnlyDictionary<Guid, long>> AllocatedBytesAsync(IEnumerable<VmRecord> vms, Func<Guid, VmFiles> filesOf, CancellationToken cancellationToken)
    {
        var thinUsage = new ThinUsage(host.LvmThin.Run);
        var allocated = new Dictionary<Guid, long>();
        foreach (var vm in vms)
        {
            var path = filesOf(vm.Id).Disk(vm.DiskFileName);
            allocated[vm.Id] = ThinVmDisk.Find(path, vm.Id) is { } thin
                ? await thinUsage.AllocatedBytesAsync(thin.VolumeGroup, thin.LogicalVolume, cancellationToken).ConfigureAwait(false)
                : FileAllocation.BytesOf(path);
        }

        return allocated;
    }

    /// <summary>
    /// Checkpoints, forks and copies are made of disk files (reflinks or qcow2 chains): a disk image VM's or a thin
    /// disk's are refused before anything is taken.
    /// </summary>
    public void RefuseCheckpoint(VmRecord vm, VmFiles files)
    {
        DiskImageBoot.RefuseCheckpoint(vm);
        if (ThinVmDisk.Find(files.Disk(vm.DiskFileName), vm.Id) is { } thin)
        {
            throw StorageErrors.ThinVmDiskNoCheckpoint(vm.Name, thin);
        }
    }

    /// <summary>Deletes the VM's directory, after the thin volumes its disk files link to (<see cref="RemoveThinVolumesAsync"/>).</summary>
    public async Task DeleteAsync(VmFiles files, Guid vmId, CancellationToken cancellationToken)
    {
        await RemoveThinVolumesAsync(files, vmId, cancellationToken).ConfigureAwait(false);
        VmDirectorySweep.DeleteDirectory(files.Directory);
    }

    /// <summary>
    /// Removes the thin volumes the VM's disk files link to, keeping the links: a volume lvs no longer lists is gone
    /// already (a removal or creation killed midway), and when lvremove fails its error is thrown with the link still
    /// naming the volume for the next attempt.
    /// </summary>
    public async Task RemoveThinVolumesAsync(VmFiles files, Guid vmId, CancellationToken cancellationToken)
    {
        var links = Directory.Exists(files.Directory)
            ? Directory.EnumerateFiles(files.Directory).Select(path => ThinVmDisk.Find(path, vmId)).OfType<ThinVmDisk>().Distinct().ToList()
            : [];
        foreach (var disk in links)
        {
            var listed = LvmThinPlanner.ParseVolumeNames((await host.LvmThin.Run(disk.InspectVolumes(), cancellationToken).ConfigureAwait(false)).StandardOutput);
            if (listed.Contains(disk.LogicalVolume))
            {
                await host.LvmThin.Run(disk.Remove(), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
