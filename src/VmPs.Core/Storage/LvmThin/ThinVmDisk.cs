namespace VmPs.Core.Storage.LvmThin;

/// <summary>
/// A VM's own disk on the LvmThin backend: the thin volume vmps-vm-ID of a volume group, which the disk file in the
/// VM's directory links to. The link is made before the volume and outlives it, so the link alone says which
/// volume the VM owns: Start-Vm opens the disk file as for any VM, and the removal of the VM, or the sweep after a
/// session killed while creating it, finds the volume to remove. A link naming anything but this VM's volume in a
/// validly named group is not ours and is never followed.
/// </summary>
internal sealed record ThinVmDisk(string VolumeGroup, Guid VmId)
{
    public string LogicalVolume => LvmThinPlanner.VmDiskName(VmId);

    /// <summary>udev's /dev/VG/LV link to the device, as <see cref="LvmThinPlanner.DevicePath"/> names it.</summary>
    public string DevicePath => $"/dev/{VolumeGroup}/{LogicalVolume}";

    /// <summary>The thin disk the file <paramref name="diskFile"/> of VM <paramref name="vmId"/> links to; null for a disk file.</summary>
    public static ThinVmDisk? Find(string diskFile, Guid vmId)
    {
        if (new FileInfo(diskFile).LinkTarget?.Split('/') is not ["", "dev", var group, var volume] || volume != LvmThinPlanner.VmDiskName(vmId))
        {
            return null;
        }

        try
        {
            LvmNames.ValidateVolumeGroup(group);
        }
        catch (VmPsException)
        {
            return null;
        }

        return new ThinVmDisk(group, vmId);
    }

    /// <summary>Makes <paramref name="diskFile"/> the link to this disk's device.</summary>
    public void Link(string diskFile) => File.CreateSymbolicLink(diskFile, DevicePath);

    public LvmCommand Extend(long sizeBytes, bool growFilesystem) => LvmThinPlanner.Extend(VolumeGroup, LogicalVolume, sizeBytes, growFilesystem);

    public LvmCommand Remove() => LvmThinPlanner.Remove(VolumeGroup, LogicalVolume);

    public LvmCommand InspectVolumes() => LvmThinPlanner.InspectUsage(VolumeGroup);
}
