using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// New-Vm -IsoPath without a boot: the VM's disk is an overlay of its size over the built-in blank image of its
/// firmware, made once on demand; what is no ISO 9660 image, or an ISO with an image, is refused with nothing left.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IsoInstallTests : IDisposable
{
    private readonly ScratchVmManager host = new();

    public void Dispose() => host.Dispose();

    [RequiresGrubIsoFact]
    public async Task Vms_of_one_firmware_share_its_blank_image_and_each_remembers_its_iso()
    {
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, "unused");

        var first = await host.Manager.CreateAsync(Iso("one", iso) with { Firmware = ImageFirmware.Bios, DiskSizeGiB = 3 }, CancellationToken.None);
        var second = await host.Manager.CreateAsync(Iso("two", iso) with { Firmware = ImageFirmware.Bios }, CancellationToken.None);
        var uefi = await host.Manager.CreateAsync(Iso("three", iso), CancellationToken.None);

        Assert.Equal(("blank-bios", "blank-bios", "blank-uefi"), (first.Image, second.Image, uefi.Image));
        Assert.Equal((iso, 3, VmPs.Core.Hypervisors.DiskImageFormat.Qcow2), (first.IsoPath, first.DiskSizeGiB, first.DiskFormat));
        Assert.Equal(iso, (await host.Manager.GetAsync("two", CancellationToken.None)).IsoPath);
        var images = await new ImageManager(host.Home.Paths).GetAllAsync(CancellationToken.None);
        Assert.Equal(["blank-bios", "blank-uefi"], images.Select(image => image.Name));
        Assert.Equal([ImageFirmware.Bios, ImageFirmware.Uefi], images.Select(image => image.Firmware));
        Assert.All(images, image => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(image.RootfsPath)));
        // An image VMs use stays, as any other.
        var inUse = await Assert.ThrowsAsync<VmPsException>(() => new ImageManager(host.Home.Paths).RemoveAsync("blank-bios", force: false, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.ImageInUse, inUse.ErrorId);
    }

    [RequiresGrubIsoFact]
    public async Task What_is_no_iso_or_comes_with_an_image_is_refused_and_leaves_nothing()
    {
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, "unused");
        var damaged = host.Scratch.Combine("damaged.iso");
        File.Copy(iso, damaged);
        await using (var file = File.OpenWrite(damaged))
        {
            // The primary volume descriptor's "CD001" (sector 16) becomes "XD001".
            file.Position = (16 * 2048) + 1;
            file.WriteByte((byte)'X');
        }

        var zeros = host.Scratch.Combine("zeros.iso");
        await File.WriteAllBytesAsync(zeros, new byte[64 * 1024]);
        var text = host.Scratch.Combine("notes.iso");
        await File.WriteAllTextAsync(text, "not a disc\n");
        var fifo = host.Scratch.Combine("pipe.iso");
        await ExternalTool.RunCheckedAsync("mkfifo", [fifo], CancellationToken.None);

        await RefusedAsync(Iso("missing", host.Scratch.Combine("nope.iso")), VmPsErrorIds.IsoNotFound, VmPsErrorKind.ObjectNotFound, host.Scratch.Combine("nope.iso"));
        await RefusedAsync(Iso("dir", host.Scratch.Path), VmPsErrorIds.IsoPathIsDirectory, VmPsErrorKind.InvalidArgument, host.Scratch.Path);
        foreach (var notIso in new[] { damaged, zeros, text, fifo })
        {
            await RefusedAsync(Iso("bad", notIso), VmPsErrorIds.IsoNotIso9660, VmPsErrorKind.InvalidData, notIso);
        }

        await RefusedAsync(Iso("both", iso) with { Image = "busybox" }, VmPsErrorIds.IsoPathWithImage, VmPsErrorKind.InvalidArgument, "both");
        await RefusedAsync(new VmCreateOptions { Name = "fw", Image = "busybox", Firmware = ImageFirmware.Bios }, VmPsErrorIds.FirmwareNeedsIsoPath, VmPsErrorKind.InvalidArgument, "fw");
        await RefusedAsync(Iso("direct", iso) with { KernelPath = "/boot/vmlinuz" }, VmPsErrorIds.DiskImageVmUnsupported, VmPsErrorKind.InvalidArgument, "direct");

        // A user's image under a blank image's name is not taken for it.
        await TestDiskImages.ImportBlankAsync(host.Home.Paths, host.Scratch.Path, "blank-uefi", 1 << 20);
        await RefusedAsync(Iso("taken", iso), VmPsErrorIds.BlankDiskImageNameTaken, VmPsErrorKind.ResourceExists, "blank-uefi");

        Assert.Equal(["blank-uefi"], (await new ImageManager(host.Home.Paths).GetAllAsync(CancellationToken.None)).Select(image => image.Name));
        Assert.Empty(await host.Manager.GetAllAsync(CancellationToken.None));
        Assert.False(Directory.Exists(host.Home.Paths.VmsDirectory) && Directory.EnumerateFileSystemEntries(host.Home.Paths.VmsDirectory).Any());
    }

    [RequiresGrubIsoFact]
    public async Task Set_vm_changes_or_ejects_a_stopped_vms_iso_and_refuses_what_has_no_drive_or_runs()
    {
        var iso = await TestIsoImages.BuildAsync(host.Scratch.Path, "unused");
        var other = host.Scratch.Combine("other.iso");
        File.Copy(iso, other);
        await host.Manager.CreateAsync(Iso("inst", iso), CancellationToken.None);
        await host.Manager.CreateAsync(new VmCreateOptions { Name = "oci", Image = "busybox", MemoryMiB = 256 }, CancellationToken.None);

        var dry = await host.Manager.SetAsync("inst", Change(other), dryRun: true, CancellationToken.None);
        Assert.Equal(iso, dry.IsoPath);
        Assert.Equal(iso, (await host.Manager.GetAsync("inst", CancellationToken.None)).IsoPath);

        Assert.Equal(other, (await host.Manager.SetAsync("inst", Change(other), dryRun: false, CancellationToken.None)).IsoPath);
        var ejected = await host.Manager.SetAsync("inst", Change(null), dryRun: false, CancellationToken.None);
        Assert.Null(ejected.IsoPath);
        Assert.Equal("blank-uefi", ejected.Image);
        Assert.Null((await VmTestHost.Manager(host.Home.Paths).GetAsync("inst", CancellationToken.None)).IsoPath);

        await SetRefusedAsync("inst", Change(host.Scratch.Combine("nope.iso")), VmPsErrorIds.IsoNotFound, VmPsErrorKind.ObjectNotFound, host.Scratch.Combine("nope.iso"));
        await SetRefusedAsync("inst", Change(host.Scratch.Path), VmPsErrorIds.IsoPathIsDirectory, VmPsErrorKind.InvalidArgument, host.Scratch.Path);
        await SetRefusedAsync("oci", Change(iso), VmPsErrorIds.IsoPathNeedsDiskImage, VmPsErrorKind.InvalidOperation, "oci");
        Assert.Null((await host.Manager.GetAsync("inst", CancellationToken.None)).IsoPath);

        // A VM that is not off keeps its drive as it is.
        var vm = await host.Manager.GetAsync("inst", CancellationToken.None);
        await new VmStore(new VmPs.Core.State.StateDatabase(host.Home.Paths.StateDatabase)).UpdateAsync(vm.Id, record => record with { State = VmState.Saved }, CancellationToken.None);
        var saved = await SetRefusedAsync("inst", Change(iso), VmPsErrorIds.IsoChangeNeedsStop, VmPsErrorKind.InvalidOperation, "inst");
        Assert.Contains("restores only with the same drive", saved.Message, StringComparison.Ordinal);
    }

    private static VmSetOptions Change(string? iso) => new() { ChangeIsoPath = true, IsoPath = iso };

    private async Task<VmPsException> SetRefusedAsync(string name, VmSetOptions options, string errorId, VmPsErrorKind kind, object target)
    {
        var error = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.SetAsync(name, options, dryRun: true, CancellationToken.None));
        Assert.Equal((errorId, kind, target), (error.ErrorId, error.Kind, error.Target));
        return error;
    }

    private static VmCreateOptions Iso(string name, string iso) => new() { Name = name, Image = "", IsoPath = iso, DiskSizeGiB = 2, MemoryMiB = 256 };

    private async Task RefusedAsync(VmCreateOptions options, string errorId, VmPsErrorKind kind, object target)
    {
        var checkedFirst = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.ValidateCreateAsync(options, CancellationToken.None));
        var refused = await Assert.ThrowsAsync<VmPsException>(() => host.Manager.CreateAsync(options, CancellationToken.None));

        Assert.Equal((errorId, kind, target), (refused.ErrorId, refused.Kind, refused.Target));
        Assert.Equal(errorId, checkedFirst.ErrorId);
    }
}
