using VmPs.Core.Images;
using VmPs.Core.Images.Disk;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Blobs;
using VmPs.Core.State;

namespace VmPs.Core.Vms;

/// <summary>
/// New-VmImage -FromVm: a stopped disk image VM's disk (its overlay and the image's base under it) becomes a new disk
/// image, flattened into one read-only qcow2 base in the image store, with the VM's firmware. The VM's disk lock is
/// held meanwhile, so the VM cannot start while its disk is read.
/// </summary>
internal sealed class VmTemplates(VmPsPaths paths, ImageStore images, VmStore vms, VmReconciler reconciler)
{
    private readonly DiskImageImporter importer = new(paths, images, new ImageDisk(paths, images, new BlobCache(paths)));

    public async Task<ImageInfo> CreateAsync(string vmName, string imageName, bool force, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        var vm = await vms.FindByNameAsync(vmName, cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vmName);
        if (vm.ImageKind != ImageKind.Disk)
        {
            throw VmErrors.NoDiskToTemplate(vm.Name);
        }

        var files = reconciler.Files(vm.Id);
        using var diskLock = await FileLock.AcquireAsync(files.DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        // Read again under the lock: Start-Vm claims the VM only while holding it.
        vm = await reconciler.ReconcileAsync(
            await vms.FindByIdAsync(vm.Id, cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vmName), cancellationToken).ConfigureAwait(false);
        // A saved VM's disk lacks what its memory has not written back yet.
        if (vm.State.IsActive() || vm.State == VmState.Saved)
        {
            throw VmErrors.TemplateNeedsStoppedVm(vm.Name, vm.State);
        }

        var image = await images.FindByIdAsync(vm.ImageId, cancellationToken).ConfigureAwait(false)
            ?? throw VmErrors.ImageMissing(vm.Name, vm.ImageName, "the image is no longer in the store");
        var options = new DiskImageAddOptions { Path = files.Disk(vm.DiskFileName), Name = imageName, Firmware = DiskImageBoot.FirmwareOf(image), Force = force };
        return await importer.AddFlattenedAsync(options, options.Path, vm.DiskFormat, $"vm:{vm.Name}", progress, cancellationToken).ConfigureAwait(false);
    }
}
