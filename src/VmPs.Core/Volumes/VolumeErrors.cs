using System.Globalization;

namespace VmPs.Core.Volumes;

/// <summary>The user-facing errors about volumes, each with its stable ErrorId.</summary>
internal static class VolumeErrors
{
    public static VmPsException NotFound(string name) => new(
        VmPsErrorIds.VolumeNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No volume named '{name}'.",
        name)
    {
        RecommendedAction = "Run Get-VmVolume to list the volumes.",
    };

    public static VmPsException NameInUse(string name) => new(
        VmPsErrorIds.VolumeNameInUse,
        VmPsErrorKind.ResourceExists,
        $"A volume named '{name}' already exists.",
        name)
    {
        RecommendedAction = "Choose another name, or remove the existing volume with Remove-VmVolume.",
    };

    public static VmPsException Attached(string name, IEnumerable<string> vms) => new(
        VmPsErrorIds.VolumeAttached,
        VmPsErrorKind.InvalidOperation,
        $"Volume '{name}' is attached to {Join(vms)}.",
        name)
    {
        RecommendedAction = "Detach it with Dismount-VmVolume first, or use -Force, which detaches it (unplugging it from running VMs whose hypervisor can).",
    };

    public static VmPsException InUseByRunningVm(string name, string vm, string doing) => new(
        VmPsErrorIds.VolumeInUse,
        VmPsErrorKind.InvalidOperation,
        $"Volume '{name}' is attached to VM '{vm}', which is running: {doing} needs the volume unused. Stop the VM first.",
        name)
    {
        RecommendedAction = $"Stop-Vm {vm}, then try again.",
    };

    public static VmPsException Busy(string name, VolumeState state) => new(
        VmPsErrorIds.VolumeBusy,
        VmPsErrorKind.ResourceUnavailable,
        $"Volume '{name}' is busy: another session is {state.ToString().ToLowerInvariant()} it.",
        name)
    {
        RecommendedAction = "Wait for that command to finish, then try again.",
    };

    public static VmPsException RemoveFailed(string name, Exception cause) => new(
        VmPsErrorIds.VolumeRemoveFailed,
        VmPsErrorKind.InvalidOperation,
        $"Volume '{name}' was not removed and is kept, attachable as before: deleting its storage failed: {cause.Message}",
        name,
        cause)
    {
        RecommendedAction = "Fix what the message names (for a thin volume, what lvremove reported: an open device, a missing pool), then run Remove-VmVolume again.",
    };

    public static VmPsException WritableElsewhere(string name, string vm) => new(
        VmPsErrorIds.VolumeAttachedWritable,
        VmPsErrorKind.ResourceUnavailable,
        $"Volume '{name}' is attached writable to VM '{vm}': a writable volume is attached to one VM at a time.",
        name)
    {
        RecommendedAction = $"Dismount it from '{vm}' first, or attach it read-only everywhere (-ReadOnly, or ':ro').",
    };

    public static VmPsException ReadOnlyElsewhere(string name, IEnumerable<string> vms) => new(
        VmPsErrorIds.VolumeAttachedReadOnly,
        VmPsErrorKind.ResourceUnavailable,
        $"Volume '{name}' is attached read-only to {Join(vms)}: it cannot also be attached writable.",
        name)
    {
        RecommendedAction = "Attach it read-only (-ReadOnly, or ':ro'), or dismount it from those VMs first.",
    };

    public static VmPsException AlreadyAttached(string name, string vm) => new(
        VmPsErrorIds.VolumeAlreadyAttached,
        VmPsErrorKind.ResourceExists,
        $"Volume '{name}' is already attached to VM '{vm}'.",
        name);

    public static VmPsException NotAttached(string name, string vm) => new(
        VmPsErrorIds.VolumeNotAttached,
        VmPsErrorKind.ObjectNotFound,
        $"Volume '{name}' is not attached to VM '{vm}'.",
        name);

    public static VmPsException OpenInGuest(string name, string vm, string path) => new(
        VmPsErrorIds.GuestVolumeBusy,
        VmPsErrorKind.ResourceUnavailable,
        $"Volume '{name}' is in use in VM '{vm}' (files open at {path}, or a process working there), so it was left attached.",
        name)
    {
        RecommendedAction = $"Close what uses {path} in the guest and try again, or use -Force, which unmounts it lazily and unplugs it (programs still using it then get I/O errors).",
    };

    public static VmPsException MountPathInUse(string path, string vm) => new(
        VmPsErrorIds.VolumeMountPathInUse,
        VmPsErrorKind.ResourceExists,
        $"VM '{vm}' already has a volume at '{path}'.",
        path);

    public static VmPsException TooSmall(string name, long sizeBytes, long contentBytes) => new(
        VmPsErrorIds.VolumeTooSmall,
        VmPsErrorKind.InvalidArgument,
        Invariant($"Volume '{name}' of {Size(sizeBytes)} cannot hold its content of about {Size(contentBytes)}."),
        name)
    {
        RecommendedAction = "Give a larger -SizeGB.",
    };

    public static VmPsException CannotShrink(string name, long sizeBytes, long requestedBytes) => new(
        VmPsErrorIds.VolumeShrinkNotSupported,
        VmPsErrorKind.InvalidArgument,
        Invariant($"Volume '{name}' is {Size(sizeBytes)}; it can only grow, not shrink to {Size(requestedBytes)}."),
        name);

    public static VmPsException FileMissing(string name, string path) => new(
        VmPsErrorIds.VolumeFileMissing,
        VmPsErrorKind.ObjectNotFound,
        $"The file '{path}' of volume '{name}' is missing.",
        name)
    {
        RecommendedAction = "Remove the volume with Remove-VmVolume -Force and create it again.",
    };

    public static VmPsException Invalid(string errorId, string message, object? target) => new(errorId, VmPsErrorKind.InvalidArgument, message, target);

    private static string Join(IEnumerable<string> vms) => string.Join(", ", vms.Select(vm => $"VM '{vm}'"));

    private static string Size(long bytes) =>
        bytes >= 1L << 30 ? Invariant($"{bytes / (double)(1L << 30):0.##} GiB") : Invariant($"{bytes / (double)(1L << 20):0.#} MiB");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
