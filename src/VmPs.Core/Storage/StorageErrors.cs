using VmPs.Core.Storage.LvmThin;

namespace VmPs.Core.Storage;

/// <summary>The user-facing errors about the storage backend (Set-VmHost -StorageBackend), each with its stable ErrorId.</summary>
internal static class StorageErrors
{
    public static VmPsException InvalidLvmName(string what, string name, string rule) => new(
        VmPsErrorIds.InvalidLvmName,
        VmPsErrorKind.InvalidArgument,
        $"'{name}' is not a valid LVM {what} name: {rule}.",
        name)
    {
        RecommendedAction = "LVM names are 1 to 127 characters of a-z A-Z 0-9 + _ . - and do not begin with a hyphen (see lvm(8), VALID NAMES).",
    };

    public static VmPsException SettingsInvalid(string message, object target) => new(
        VmPsErrorIds.StorageSettingsInvalid,
        VmPsErrorKind.InvalidArgument,
        message,
        target)
    {
        RecommendedAction = "Set-VmHost -StorageBackend LvmThin -VolumeGroup VG -ThinPool POOL, or Set-VmHost -StorageBackend File.",
    };

    public static VmPsException DeviceMapperUnavailable(DeviceMapperStatus status) => new(
        VmPsErrorIds.DeviceMapperUnavailable,
        VmPsErrorKind.NotInstalled,
        $"LvmThin storage needs the kernel's device-mapper, and device-mapper unavailable on this host: {status.Describe()}.",
        "device-mapper")
    {
        RecommendedAction = "Load it (modprobe dm_thin_pool; the kernel needs CONFIG_BLK_DEV_DM and CONFIG_DM_THIN_PROVISIONING), and in a container pass /dev/mapper/control in; or keep -StorageBackend File.",
    };

    public static VmPsException LvmToolsMissing(IEnumerable<string> programs) => new(
        VmPsErrorIds.LvmToolsMissing,
        VmPsErrorKind.NotInstalled,
        $"LvmThin storage runs the LVM tools, and {string.Join(", ", programs)} {(programs.Count() == 1 ? "was" : "were")} not found. Install the Debian package 'lvm2'.",
        "lvm2")
    {
        RecommendedAction = "apt-get install lvm2",
    };

    public static VmPsException ThinPoolNotFound(string pool, string detail) => new(
        VmPsErrorIds.ThinPoolNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"'{pool}' is not an LVM thin pool: {detail}",
        pool)
    {
        RecommendedAction = $"Create it (lvcreate --type thin-pool --size SIZE --name POOL VG), or name an existing one (lvs -o lv_name,vg_name,lv_attr; a thin pool's attributes begin with 't').",
    };

    public static VmPsException NewThinVolumeUnsupported(string name, StorageSettings settings) => new(
        VmPsErrorIds.StorageBackendNotSupported,
        VmPsErrorKind.NotImplemented,
        $"New volumes are thin volumes of {settings.VolumeGroup}/{settings.ThinPool} (Set-VmHost -StorageBackend LvmThin), which are made Ext4 or Raw and empty: -Format Qcow2 and -FromPath need a file.",
        name)
    {
        RecommendedAction = "Leave out -Format Qcow2 and -FromPath, or make the volume a file: Set-VmHost -StorageBackend File.",
    };

    public static VmPsException NotOnLvmThin(string name, string operation) => new(
        VmPsErrorIds.StorageBackendNotSupported,
        VmPsErrorKind.NotImplemented,
        $"Volume '{name}' is a thin volume of the LvmThin storage backend, which does not support {operation}.",
        name)
    {
        RecommendedAction = "Use a volume of the File backend (Set-VmHost -StorageBackend File, then New-VmVolume) for this.",
    };

    public static VmPsException NewThinVmDiskUnsupported(string name, StorageSettings settings) => new(
        VmPsErrorIds.StorageBackendNotSupported,
        VmPsErrorKind.NotImplemented,
        $"New VM disks are raw thin volumes of {settings.VolumeGroup}/{settings.ThinPool} (Set-VmHost -StorageBackend LvmThin): -DiskFormat Qcow2 needs a file.",
        name)
    {
        RecommendedAction = "Leave out -DiskFormat Qcow2, or make the disk a file: Set-VmHost -StorageBackend File.",
    };

    public static VmPsException ThinVmDiskNoCheckpoint(string name, LvmThin.ThinVmDisk disk) => new(
        VmPsErrorIds.StorageBackendNotSupported,
        VmPsErrorKind.NotImplemented,
        $"VM '{name}' has its disk on the thin volume {disk.VolumeGroup}/{disk.LogicalVolume} (the LvmThin storage backend), and checkpoints, forks and copies are made of disk files.",
        name)
    {
        RecommendedAction = "Use Save-Vm to keep its memory, or create the VM on the File backend (Set-VmHost -StorageBackend File) to checkpoint it.",
    };
}
