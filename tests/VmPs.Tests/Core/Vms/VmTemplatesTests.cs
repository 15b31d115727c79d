using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>New-VmImage -FromVm with real qemu-img: a stopped disk image VM's overlay and base become one new image.</summary>
public sealed class VmTemplatesTests : IDisposable
{
    private readonly ScratchVmManager host = new();

    public void Dispose() => host.Dispose();

    [RequiresOvmfFact]
    public async Task A_stopped_vms_disk_is_flattened_into_a_new_disk_image_with_the_vms_size_and_firmware()
    {
        var blank = await TestDiskImages.ImportBlankAsync(host.Home.Paths, host.Scratch.Path, "blank", 64 << 20);
        await new ImageManager(host.Home.Paths).AddDiskAsync(
            new DiskImageAddOptions { Path = Path.Combine(host.Scratch.Path, "blank.raw"), Name = "blank-bios", Firmware = ImageFirmware.Bios }, null, CancellationToken.None);
        await host.Manager.CreateAsync(new VmCreateOptions { Name = "inst", Image = "blank-bios", DiskSizeGiB = 2, MemoryMiB = 256 }, CancellationToken.None);

        var template = await host.Manager.CreateImageFromVmAsync("inst", "template", force: false, progress: null, CancellationToken.None);

        Assert.Equal(ImageKind.Disk, template.Kind);
        Assert.Equal(ImageFormat.Qcow2, template.Format);
        Assert.Equal(ImageFirmware.Bios, template.Firmware);
        Assert.Equal(2L << 30, template.VirtualSizeBytes);
        Assert.Equal("vm:inst", template.Reference);
        Assert.Equal((await new ImageManager(host.Home.Paths).GetAsync("template", CancellationToken.None)).Id, template.Id);
        Assert.Equal(DiskImageCheckResult.Clean, (await QemuImage.CheckAsync(template.RootfsPath, CancellationToken.None)).Result);
        // One self-contained file: nothing of the VM's overlay or the blank image's base is read through it.
        Assert.Null((await QemuImage.InfoAsync(template.RootfsPath, DiskImageFormat.Qcow2, CancellationToken.None)).BackingFile);
        Assert.NotEqual(blank.RootfsPath, template.RootfsPath);

        // The template boots like an imported image: a VM of it gets an overlay over it.
        var fromTemplate = await host.Manager.CreateAsync(new VmCreateOptions { Name = "copy", Image = "template", DiskSizeGiB = 2, MemoryMiB = 256 }, CancellationToken.None);
        Assert.Equal("template", fromTemplate.Image);
    }

    [RequiresOvmfFact]
    public async Task Without_a_vm_with_a_taken_or_invalid_name_or_of_an_oci_vm_nothing_is_made()
    {
        await TestDiskImages.ImportBlankAsync(host.Home.Paths, host.Scratch.Path, "blank", 64 << 20);
        await host.Manager.CreateAsync(new VmCreateOptions { Name = "inst", Image = "blank", DiskSizeGiB = 1, MemoryMiB = 256 }, CancellationToken.None);
        await host.Manager.CreateAsync(new VmCreateOptions { Name = "oci", Image = "busybox", MemoryMiB = 256 }, CancellationToken.None);

        var missing = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateImageFromVmAsync("nope", "template", false, null, CancellationToken.None));
        var taken = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateImageFromVmAsync("inst", "blank", false, null, CancellationToken.None));
        var invalid = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateImageFromVmAsync("inst", "Not A Name!", false, null, CancellationToken.None));
        var oci = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateImageFromVmAsync("oci", "template", false, null, CancellationToken.None));

        Assert.Equal((VmPsErrorIds.VmNotFound, VmPsErrorKind.ObjectNotFound, "nope"), (missing.ErrorId, missing.Kind, missing.Target));
        Assert.Equal((VmPsErrorIds.ImageNameInUse, VmPsErrorKind.ResourceExists), (taken.ErrorId, taken.Kind));
        Assert.Equal(VmPsErrorIds.InvalidImageName, invalid.ErrorId);
        Assert.Equal((VmPsErrorIds.ImageFromVmUnsupported, VmPsErrorKind.InvalidOperation, "oci"), (oci.ErrorId, oci.Kind, oci.Target));
        Assert.Equal(["blank", "busybox"], (await new ImageManager(host.Home.Paths).GetAllAsync(CancellationToken.None)).Select(image => image.Name));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.Home.Paths.Root, "*staging*", SearchOption.AllDirectories));
    }
}
