using System.Globalization;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>
/// VMs of disk images (kind Disk): the image's disk boots through firmware with its own bootloader, kernel and init,
/// from a qcow2 overlay of the VM's own over the image's read-only base. What differs from a direct boot is here;
/// VmManager and VmBoot call it where the image's kind decides.
/// </summary>
internal static class DiskImageBoot
{
    /// <summary>The system disk's virtio serial (the guest sees /dev/disk/by-id/virtio-vmps-disk).</summary>
    public const string SystemDiskSerial = "vmps-disk";

    /// <summary>The serial of the CD-ROM drive holding an ISO install's image.</summary>
    public const string IsoSerial = "vmps-iso";

    /// <summary>The VM's disk file (its VmRecord.DiskFile): a qcow2 overlay over the image's read-only base.</summary>
    public const string SystemDiskFile = "disk.qcow2";

    /// <summary>The VM's disk file on the LvmThin backend: the link to its raw thin snapshot of the image's base (see VmDisks).</summary>
    public const string ThinSystemDiskFile = "disk.raw";

    /// <summary>The container and file of a new VM's disk.</summary>
    public static (DiskImageFormat Format, string File) SystemDisk(bool onThinPool) =>
        onThinPool ? (DiskImageFormat.Raw, ThinSystemDiskFile) : (DiskImageFormat.Qcow2, SystemDiskFile);

    /// <summary>
    /// New-Vm's checks for a disk image (<paramref name="imageName"/>, of <paramref name="firmware"/> and
    /// <paramref name="imageBytes"/>): what only a direct boot has is refused, the disk must hold the image, and QEMU
    /// VMs run on q35 (microvm has no firmware). Returns the machine and the features the hypervisor needs: an ISO
    /// install's CD-ROM drive too.
    /// </summary>
    public static (QemuMachine Machine, HypervisorFeatures Required) CheckCreate(VmCreateOptions options, string imageName, ImageFirmware firmware, long? imageBytes)
    {
        if (options.KernelPath is not null || options.InitMode is not null || options.Volumes.Count > 0 || options.Shares.Count > 0
            || options.MachineType == QemuMachine.Microvm)
        {
            var what = options.KernelPath is not null ? "-Kernel"
                : options.InitMode is not null ? "-InitMode"
                : options.Volumes.Count > 0 ? "-Volume"
                : options.Shares.Count > 0 ? "-Share"
                : "-MachineType Microvm";
            throw new VmPsException(
                VmPsErrorIds.DiskImageVmUnsupported,
                VmPsErrorKind.InvalidArgument,
                $"The image '{imageName}' is a disk image, which boots its own kernel and init through firmware: {what} does not apply to it.",
                options.Name)
            {
                RecommendedAction = $"Leave out {what}.",
            };
        }

        var diskBytes = (long)options.DiskSizeGiB << 30;
        if (imageBytes is { } bytes && diskBytes < bytes)
        {
            var neededGiB = (bytes + (1L << 30) - 1) >> 30;
            throw new VmPsException(
                VmPsErrorIds.DiskSmallerThanImage,
                VmPsErrorKind.InvalidArgument,
                string.Create(CultureInfo.InvariantCulture, $"A {options.DiskSizeGiB} GiB disk cannot hold the image '{imageName}', whose disk is {bytes} bytes."),
                options.DiskSizeGiB)
            {
                RecommendedAction = string.Create(CultureInfo.InvariantCulture, $"Use -DiskSizeGB {neededGiB} or more."),
            };
        }

        var cdRom = options.IsoPath is null ? HypervisorFeatures.None : HypervisorFeatures.CdRom;
        return (QemuMachine.Q35, HypervisorFeatures.Qcow2Disks | cdRom | (firmware == ImageFirmware.Uefi ? HypervisorFeatures.Uefi : HypervisorFeatures.Bios));
    }

    /// <summary>Checkpoints, forks and copies handle an OCI VM's overlay disk only, so far.</summary>
    public static void RefuseCheckpoint(VmRecord vm)
    {
        if (vm.ImageKind == ImageKind.Disk)
        {
            throw new VmPsException(
                VmPsErrorIds.DiskImageVmUnsupported,
                VmPsErrorKind.InvalidOperation,
                $"VM '{vm.Name}' runs a disk image: checkpoints and copies of such VMs are not supported yet.",
                vm.Name);
        }
    }

    public static ImageFirmware FirmwareOf(ImageInfo image) => image.Firmware ?? ImageFirmware.Uefi;

    /// <summary>
    /// The VM's disk: a qcow2 overlay of <paramref name="sizeGiB"/> over the image's base, its backing file and that
    /// file's format written by VmPs (never probed), 0600. The caller removes the VM directory on failure.
    /// </summary>
    public static void CreateSystemDisk(VmFiles files, string diskFile, ImageInfo image, int sizeGiB) =>
        Qcow2Overlay.Create(files.Disk(diskFile), (long)sizeGiB << 30, new BackingImage(image.RootfsPath, BaseFormatOf(image)));

    /// <summary>The container of the image's stored disk, as New-VmImage recorded it (never probed).</summary>
    public static DiskImageFormat BaseFormatOf(ImageInfo image) => image.Format == ImageFormat.Qcow2 ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;

    /// <summary>
    /// What Start-Vm boots: the firmware the host has for the VM's hypervisor (FirmwareNotFound when it has none),
    /// with a UEFI VM's own variable store (a private copy of the template, made at its first start and kept, so
    /// boot entries the guest writes persist), the system disk and the cloud-init seed, written afresh from the VM's
    /// current name, network adapter and metadata, with the agent cloud-init starts (<see cref="DiskImageAgent"/>), and an
    /// ISO install's image in a read-only CD-ROM drive, which firmware boots first.
    /// </summary>
    public static async Task<VmLaunchSpec> LaunchSpecAsync(
        VmLaunchSpec common, VmRecord vm, ImageInfo image, VmFiles files, NetworkAdapterInfo? adapter, HostReport host, bool agentOverVsock, CancellationToken cancellationToken)
    {
        var firmware = FirmwareCatalog.Require(host, vm.Hypervisor, FirmwareOf(image), vm.Name);
        string? variables = null;
        if (firmware.VariablesPath is { } template)
        {
            variables = files.FirmwareVariables;
            if (!File.Exists(variables))
            {
                await FileCopy.CopyAsync(template, variables, cancellationToken).ConfigureAwait(false);
            }
        }

        var disk = files.Disk(vm.DiskFileName);
        if (!File.Exists(disk))
        {
            throw VmErrors.ImageMissing(vm.Name, image.Name, $"the VM's disk '{disk}' is missing");
        }

        // The ISO is the user's file, which may have gone or changed since New-Vm.
        if (vm.IsoPath is { } iso)
        {
            InstallerIso.Check(iso, vm.Name);
        }

        var userData = await VmUserData.ReadAsync(files, cancellationToken).ConfigureAwait(false);
        await CloudInitSeed.WriteAsync(
            files.SeedDisk,
            CloudInitSeed.MetaData(vm.Id, vm.Name),
            CloudInitSeed.NetworkConfig(adapter is null ? null : GuestConfigFactory.Network(adapter)),
            userData.CloudInitDocument(vm.Name),
            (staging, token) => DiskImageAgent.StageAsync(
                staging, GuestConfigFactory.AgentChannel(agentOverVsock), GuestConfigFactory.Metadata(vm, adapter, userData), token),
            cancellationToken).ConfigureAwait(false);
        return common with
        {
            Firmware = new FirmwareSpec(firmware.Kind, firmware.CodePath!, variables),
            Disks =
            [
                new DiskSpec(disk, ReadOnly: false, SystemDiskSerial, DiskImageFormat.Qcow2),
                new DiskSpec(files.SeedDisk, ReadOnly: true, CloudInitSeed.DiskSerial),
                .. vm.IsoPath is { } installer ? [new DiskSpec(installer, ReadOnly: true, IsoSerial, CdRom: true)] : Array.Empty<DiskSpec>(),
            ],
        };
    }
}
