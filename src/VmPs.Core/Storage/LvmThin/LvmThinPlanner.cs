using System.Globalization;
using VmPs.Core.Hypervisors;

namespace VmPs.Core.Storage.LvmThin;

/// <summary>One program run of a plan: the program's name and its argument array (never a shell string).</summary>
internal sealed record LvmCommand(string Program, IReadOnlyList<string> Arguments)
{
    public override string ToString() => $"{Program} {string.Join(' ', Arguments)}";
}

/// <summary>
/// The commands that make, grow and remove the thin volumes of one pool, as data: the executor
/// (<see cref="LvmThinStorage"/>) runs them, tests compare them. Every VmPs volume's name starts with "vmps-" and
/// carries the id of its image, VM or volume, so it never collides with the pool's other volumes. Sizes are in bytes
/// (LVM's "b" unit); LVM rounds a thin volume up to the pool's chunk size.
/// </summary>
internal sealed class LvmThinPlanner
{
    private const string UsageSeparator = "|";

    public LvmThinPlanner(string volumeGroup, string thinPool)
    {
        LvmNames.ValidateVolumeGroup(volumeGroup);
        LvmNames.ValidateLogicalVolume(thinPool);
        VolumeGroup = volumeGroup;
        ThinPool = thinPool;
    }

    public string VolumeGroup { get; }

    public string ThinPool { get; }

    /// <summary>"VG/POOL", as LVM names the pool on its command lines.</summary>
    public string Pool => Qualified(ThinPool);

    public static string BaseImageName(Guid imageId) => $"vmps-image-{imageId:N}";

    public static string PartialBaseImageName(Guid imageId) => $"vmps-image-{imageId:N}-partial";

    public static string VmDiskName(Guid vmId) => $"vmps-vm-{vmId:N}";

    public static string VolumeName(Guid volumeId) => $"vmps-volume-{volumeId:N}";

    /// <summary>The block device the hypervisor opens: udev's /dev/VG/LV link (lvm(8) names it the stable one).</summary>
    public string DevicePath(string logicalVolume) => $"/dev/{VolumeGroup}/{logicalVolume}";

    /// <summary>Prints the pool's attributes; a thin pool's begin with 't' (<see cref="IsThinPool"/>).</summary>
    public LvmCommand InspectPool() => new("lvs", ["--noheadings", "--options", "lv_attr", Pool]);

    public static bool IsThinPool(string lvsOutput) => lvsOutput.TrimStart().StartsWith('t');

    /// <summary>
    /// Prints each logical volume of the group as "NAME|SIZE|DATA%": the virtual size in bytes and how much of it the
    /// pool has allocated (empty for a volume that is not active). Read by <see cref="ParseAllocatedBytes"/>.
    /// </summary>
    public LvmCommand InspectUsage() => InspectUsage(VolumeGroup);

    /// <inheritdoc cref="InspectUsage()"/>
    public static LvmCommand InspectUsage(string volumeGroup) =>
        new("lvs", ["--noheadings", "--units", "b", "--nosuffix", "--separator", UsageSeparator, "--options", "lv_name,lv_size,data_percent", volumeGroup]);

    /// <summary>The names of the VmPs logical volumes <see cref="InspectUsage()"/>'s output lists, active or not.</summary>
    public static IReadOnlySet<string> ParseVolumeNames(string lvsOutput) =>
        lvsOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(UsageSeparator, StringSplitOptions.TrimEntries)[0])
            .Where(name => name.StartsWith("vmps-", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The pool blocks each VmPs thin volume holds, by name, from <see cref="InspectUsage"/>'s output. A line that is
    /// not three fields, names no VmPs volume, or has a size or percentage out of range is skipped, so a volume LVM
    /// reports oddly is left out rather than shown with a wrong figure. A decimal comma (lvs under some locales) is read too.
    /// </summary>
    public static IReadOnlyDictionary<string, long> ParseAllocatedBytes(string lvsOutput)
    {
        var allocated = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in lvsOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Split(UsageSeparator, StringSplitOptions.TrimEntries) is not [var name, var size, var percent]
                || !name.StartsWith("vmps-", StringComparison.Ordinal)
                || !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var sizeBytes)
                || !decimal.TryParse(percent.Replace(',', '.'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var used)
                || used > 100)
            {
                continue;
            }

            allocated.TryAdd(name, (long)Math.Round(sizeBytes * used / 100, MidpointRounding.AwayFromZero));
        }

        return allocated;
    }

    /// <summary>
    /// An image's base: a thin volume of its virtual size holding its disk, which VM disks snapshot. It is written
    /// under a name of its own and renamed last, so a base under its final name is always whole; a write killed midway
    /// leaves only the partial volume, which the next attempt removes first (<see cref="RemovePartialBaseImage"/>).
    /// </summary>
    public IReadOnlyList<LvmCommand> CreateBaseImage(Guid imageId, long virtualSizeBytes, string imageFile, DiskImageFormat imageFormat)
    {
        var partial = PartialBaseImageName(imageId);
        return
        [
            CreateThinVolume(partial, virtualSizeBytes),

            // -n: the device exists, qemu-img writes into it instead of creating a file.
            new("qemu-img", ["convert", "-n", "-f", QemuImage.Name(imageFormat), "-O", "raw", imageFile, DevicePath(partial)]),
            new("lvrename", [VolumeGroup, partial, BaseImageName(imageId)]),
        ];
    }

    public IReadOnlyList<LvmCommand> RemovePartialBaseImage(Guid imageId) => [Remove(PartialBaseImageName(imageId))];

    /// <summary>
    /// The VM's writable disk: a thin snapshot of its image's base, sharing the base's blocks until written, grown
    /// to <paramref name="sizeBytes"/> when larger than the base (its ext4 too when <paramref name="growFilesystem"/>).
    /// Thin snapshots are created with LVM's activation skip flag set and stay inactive; -kn clears it and -ay
    /// activates the snapshot now, so its device exists for the hypervisor and after every reboot of the host.
    /// </summary>
    public IReadOnlyList<LvmCommand> CreateVmDisk(Guid imageId, long baseSizeBytes, Guid vmId, long sizeBytes, bool growFilesystem)
    {
        var name = VmDiskName(vmId);
        LvmCommand snapshot = new("lvcreate", ["--yes", "--snapshot", "--setactivationskip", "n", "--activate", "y", "--name", name, Qualified(BaseImageName(imageId))]);
        return sizeBytes > baseSizeBytes ? [snapshot, Extend(name, sizeBytes, growFilesystem)] : [snapshot];
    }

    /// <summary>A direct-boot VM's writable disk: an empty thin volume formatted as New-Vm formats a disk file (<see cref="OverlayDisk"/>).</summary>
    public IReadOnlyList<LvmCommand> CreateVmOverlay(Guid vmId, long sizeBytes)
    {
        var name = VmDiskName(vmId);
        return [CreateThinVolume(name, sizeBytes), new("mkfs.ext4", OverlayDisk.MkfsArguments(DevicePath(name)))];
    }

    public IReadOnlyList<LvmCommand> RemoveVmDisk(Guid vmId) => [Remove(VmDiskName(vmId))];

    public IReadOnlyList<LvmCommand> RemoveBaseImage(Guid imageId) => [Remove(BaseImageName(imageId))];

    /// <summary>A volume: a thin volume, formatted ext4 with the arguments of a File volume when it holds a filesystem.</summary>
    public IReadOnlyList<LvmCommand> CreateVolume(Guid volumeId, long sizeBytes, bool ext4)
    {
        var name = VolumeName(volumeId);
        return ext4
            ? [CreateThinVolume(name, sizeBytes), new("mkfs.ext4", Volumes.VolumeFiles.MkfsArguments(DevicePath(name), source: null))]
            : [CreateThinVolume(name, sizeBytes)];
    }

    /// <summary>Grows the volume; <paramref name="growFilesystem"/> grows its ext4 with it (lvextend runs fsadm, which runs resize2fs).</summary>
    public IReadOnlyList<LvmCommand> ResizeVolume(Guid volumeId, long sizeBytes, bool growFilesystem) => [Extend(VolumeName(volumeId), sizeBytes, growFilesystem)];

    public IReadOnlyList<LvmCommand> RemoveVolume(Guid volumeId) => [Remove(VolumeName(volumeId))];

    private LvmCommand CreateThinVolume(string name, long sizeBytes) =>
        new("lvcreate", ["--yes", "--type", "thin", "--name", name, "--virtualsize", Bytes(sizeBytes), "--thinpool", Pool]);

    private LvmCommand Extend(string name, long sizeBytes, bool growFilesystem) => Extend(VolumeGroup, name, sizeBytes, growFilesystem);

    /// <summary>Grows VG/NAME; with <paramref name="growFilesystem"/> its ext4 too (lvextend runs fsadm, which runs resize2fs).</summary>
    public static LvmCommand Extend(string volumeGroup, string name, long sizeBytes, bool growFilesystem) =>
        new("lvextend", ["--size", Bytes(sizeBytes), .. growFilesystem ? new[] { "--resizefs" } : [], $"{volumeGroup}/{name}"]);

    private LvmCommand Remove(string name) => Remove(VolumeGroup, name);

    public static LvmCommand Remove(string volumeGroup, string name) => new("lvremove", ["--yes", $"{volumeGroup}/{name}"]);

    private string Qualified(string logicalVolume) => $"{VolumeGroup}/{logicalVolume}";

    private static string Bytes(long sizeBytes) =>
        sizeBytes > 0 && sizeBytes % 512 == 0
            ? sizeBytes.ToString(CultureInfo.InvariantCulture) + "b"
            : throw new ArgumentOutOfRangeException(nameof(sizeBytes), sizeBytes, "LVM sizes are whole 512-byte sectors.");
}
