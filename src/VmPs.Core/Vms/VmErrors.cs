using VmPs.Core.Hypervisors;

namespace VmPs.Core.Vms;

/// <summary>The user-facing errors about VMs, each with its stable ErrorId.</summary>
internal static class VmErrors
{
    public static VmPsException NotFound(string name) => new(
        VmPsErrorIds.VmNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No VM named '{name}'.",
        name)
    {
        RecommendedAction = "Run Get-Vm to list the VMs.",
    };

    public static VmPsException AlreadyRunning(string name, VmState state) => new(
        VmPsErrorIds.VmAlreadyRunning,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is already {state.ToString().ToLowerInvariant()}.",
        name);

    public static VmPsException CannotFork(string vmName, string checkpointName, string reason) => new(
        VmPsErrorIds.CheckpointNotForkable,
        VmPsErrorKind.InvalidOperation,
        $"Checkpoint '{checkpointName}' of VM '{vmName}' cannot be forked: {reason}.",
        checkpointName)
    {
        RecommendedAction = "Fork a checkpoint taken while the VM was stopped (disk only), or restore this one with Restore-VmCheckpoint.",
    };

    public static VmPsException CheckpointDamaged(string vmName, string checkpointName, string damage) => new(
        VmPsErrorIds.CheckpointNotForkable,
        VmPsErrorKind.InvalidData,
        $"Checkpoint '{checkpointName}' of VM '{vmName}' cannot be forked: its memory state is damaged ({damage}).",
        checkpointName)
    {
        RecommendedAction = $"Remove it (Remove-VmCheckpoint -VmName {vmName} -Name {checkpointName}) and take another with Checkpoint-Vm.",
    };

    /// <summary>QEMU 7.2 cannot migrate a vhost-user-fs device, so a running VM with shares cannot have its memory saved.</summary>
    public static VmPsException SharesNotSavable(string vmName, string operation) => new(
        VmPsErrorIds.VmSharesNotSavable,
        VmPsErrorKind.InvalidOperation,
        $"VM '{vmName}' has host directory shares (virtio-fs), whose device state cannot be saved: {operation} of a running VM with shares is not possible.",
        vmName)
    {
        RecommendedAction = "Stop the VM first (Stop-Vm); a stopped VM's checkpoint holds its disk only.",
    };

    public static VmPsException NotRunning(string name, VmState state) => new(
        VmPsErrorIds.VmNotRunning,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}, not running.",
        name)
    {
        RecommendedAction = $"Start it first: Start-Vm {name}",
    };

    /// <summary>Set-Vm's CPUs or memory on a VM that is neither stopped nor running (paused, starting).</summary>
    public static VmPsException ResizeNeedsStop(string name, VmState state) => new(
        VmPsErrorIds.VmResizeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}: stop the VM first to change its CPUs or memory.",
        name)
    {
        RecommendedAction = $"Stop-Vm {name}; Set-Vm {name} ...; Start-Vm {name}",
    };

    /// <summary>Set-Vm's CPUs or memory on a running VM whose hypervisor does not hot-plug them (QEMU's memory, microvm's vCPUs).</summary>
    public static VmPsException HotResizeUnsupported(string name, string driver, HypervisorFeatures missing) => new(
        VmPsErrorIds.VmResizeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' runs on {driver}, which does not support {Lowercased(HypervisorCapabilities.Describe(missing))}: stop the VM first.",
        name)
    {
        RecommendedAction = $"Stop-Vm {name}; Set-Vm {name} ...; Start-Vm {name}",
    };

    private static string Lowercased(string sentence) => char.ToLowerInvariant(sentence[0]) + sentence[1..];

    /// <summary>Set-Vm -MemoryMiB below a running VM's memory: hot-plugged memory is added, never taken away.</summary>
    public static VmPsException MemoryShrinkNeedsStop(string name, int currentMiB, int wantedMiB) => new(
        VmPsErrorIds.VmResizeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' runs with {currentMiB} MiB, and memory is only added to a running VM: stop the VM first to give it {wantedMiB} MiB.",
        name)
    {
        RecommendedAction = $"Stop-Vm {name}; Set-Vm {name} -MemoryMiB {wantedMiB}; Start-Vm {name}",
    };

    /// <summary>Memory added to a running VM in other than whole 128 MiB blocks, which the guest could not use.</summary>
    public static VmPsException MemoryHotplugStep(string name, int currentMiB, int wantedMiB, int blockMiB) => new(
        VmPsErrorIds.VmMemoryHotplugStep,
        VmPsErrorKind.InvalidArgument,
        $"VM '{name}' runs with {currentMiB} MiB, and memory is added to a running VM in blocks of {blockMiB} MiB: ask for {currentMiB + ((wantedMiB - currentMiB + blockMiB - 1) / blockMiB * blockMiB)} MiB, or stop the VM first for {wantedMiB} MiB.",
        name);

    /// <summary>Set-Vm on a Saved VM: its saved memory and devices were made for its CPUs and memory, so they change only once it is off.</summary>
    public static VmPsException ResizeNeedsSavedStateGone(string name) => new(
        VmPsErrorIds.VmSaved,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is saved: its saved state holds the CPUs and memory it was saved with. Start it and stop it (Start-Vm {name}; Stop-Vm {name}), or discard the saved state (Start-Vm {name} -Force; Stop-Vm {name}), then change them.",
        name)
    {
        RecommendedAction = $"Start-Vm {name}; Stop-Vm {name}; Set-Vm {name} ... (Start-Vm {name} -Force boots afresh, losing what was in memory)",
    };

    /// <summary>Exec, file copy or terminal on a paused VM: refused at once rather than waiting on vCPUs that do not run.</summary>
    public static VmPsException Paused(string name) => new(
        VmPsErrorIds.VmPaused,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is paused: its guest cannot run commands until it is resumed.",
        name)
    {
        RecommendedAction = $"Resume it first: Resume-Vm {name}",
    };

    public static VmPsException NotPaused(string name, VmState state) => new(
        VmPsErrorIds.VmNotPaused,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}, not paused.",
        name);

    /// <summary>QEMU serves its console socket to one client at a time: a second would wait, silent, for the first to leave.</summary>
    public static VmPsException ConsoleInUse(string name) => new(
        VmPsErrorIds.SerialConsoleInUse,
        VmPsErrorKind.ResourceUnavailable,
        $"Another Enter-Vm -Console session is attached to VM '{name}'s serial console.",
        name)
    {
        RecommendedAction = $"Detach that session ({ConsoleDetachKey.Name}) or close its terminal, then try again.",
    };

    /// <summary>Running unless paused: what the agent operations require.</summary>
    public static VmPsException NotReachable(string name, VmState state) => state == VmState.Paused ? Paused(name) : NotRunning(name, state);

    public static VmPsException Running(string name, VmState state) => new(
        VmPsErrorIds.VmIsRunning,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}; stop it before removing it.",
        name)
    {
        RecommendedAction = "Stop it with Stop-Vm, or use Remove-Vm -Force.",
    };

    public static VmPsException IsoPathWithImage(string name, string image) => new(
        VmPsErrorIds.IsoPathWithImage,
        VmPsErrorKind.InvalidArgument,
        $"VM '{name}' cannot both install from an ISO image and start from the image '{image}': an ISO install's disk starts blank.",
        name)
    {
        RecommendedAction = "Give either -IsoPath (with -DiskSizeGB for the blank disk) or -Image, not both.",
    };

    /// <summary>Set-Vm -IsoPath on a VM that boots its kernel directly (an OCI image): it has no firmware to boot a CD-ROM.</summary>
    public static VmPsException IsoPathNeedsDiskImage(string name, string image) => new(
        VmPsErrorIds.IsoPathNeedsDiskImage,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' boots the kernel of the image '{image}' directly and has no CD-ROM drive: only a VM that boots through firmware (a disk image or an ISO install) takes an ISO.",
        name)
    {
        RecommendedAction = "New-Vm -IsoPath ISO -DiskSizeGB N makes a VM that installs from an ISO.",
    };

    /// <summary>Set-Vm -IsoPath on a VM that is not off: its CD-ROM drive changes only while it is stopped.</summary>
    public static VmPsException IsoChangeNeedsStop(string name, VmState state) => new(
        VmPsErrorIds.IsoChangeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        state == VmState.Saved
            ? $"VM '{name}' is saved with its ISO in its CD-ROM drive: its saved state restores only with the same drive."
            : $"VM '{name}' is {state.ToString().ToLowerInvariant()}: stop the VM first to change the ISO in its CD-ROM drive.",
        name)
    {
        RecommendedAction = state == VmState.Saved
            ? $"Start-Vm {name} and Stop-Vm {name} (or Start-Vm {name} -Force to discard the saved state), then Set-Vm {name} -IsoPath ..."
            : $"Stop-Vm {name}; Set-Vm {name} -IsoPath ...; Start-Vm {name}",
    };

    /// <summary>An image boots through the firmware it was imported with (New-VmImage -Firmware); only an ISO install chooses.</summary>
    public static VmPsException FirmwareNeedsIsoPath(string name) => new(
        VmPsErrorIds.FirmwareNeedsIsoPath,
        VmPsErrorKind.InvalidArgument,
        $"VM '{name}': -Firmware applies to ISO installs (-IsoPath) only; a disk image boots through the firmware it was imported with.",
        name)
    {
        RecommendedAction = "Add -IsoPath, or leave out -Firmware (New-VmImage -Path ... -Firmware Bios sets a disk image's).",
    };

    public static VmPsException TemplateNeedsStoppedVm(string name, VmState state) => new(
        VmPsErrorIds.ImageFromVmNeedsStoppedVm,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}: its disk becomes an image only while the VM is off.",
        name)
    {
        RecommendedAction = $"Stop-Vm {name} (a saved VM: Start-Vm {name}; Stop-Vm {name}), then New-VmImage -FromVm {name} again.",
    };

    /// <summary>An OCI image VM's disk is an ext4 overlay over the image's root filesystem, with no bootloader of its own.</summary>
    public static VmPsException NoDiskToTemplate(string name) => new(
        VmPsErrorIds.ImageFromVmUnsupported,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' runs an OCI image: its disk is an overlay of the image's files, not a bootable disk that can become an image.",
        name)
    {
        RecommendedAction = "Use New-VmImage -FromVm with VMs of disk images (New-VmImage -Path, Kind Disk).",
    };

    public static VmPsException DiskResizeNeedsStoppedVm(string name, VmState state) => new(
        VmPsErrorIds.VmDiskResizeNeedsStoppedVm,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is {state.ToString().ToLowerInvariant()}: its disk is resized while the VM is off. Stop the VM first.",
        name)
    {
        RecommendedAction = $"Stop-Vm {name}, then Resize-VmDisk again.",
    };

    public static VmPsException DiskShrinkNotSupported(string name, int sizeGiB, int requestedGiB) => new(
        VmPsErrorIds.VmDiskShrinkNotSupported,
        VmPsErrorKind.InvalidArgument,
        $"The disk of VM '{name}' is {sizeGiB} GiB; it can only grow, not shrink to {requestedGiB} GiB.",
        requestedGiB);

    public static VmPsException StartingElsewhere(string name) => new(
        VmPsErrorIds.VmStartInProgress,
        VmPsErrorKind.InvalidOperation,
        $"VM '{name}' is being started by another session.",
        name)
    {
        RecommendedAction = "Wait for that Start-Vm to finish, then try again.",
    };

    public static VmPsException KernelNotFound(string? path) => path is null
        ? new VmPsException(
            VmPsErrorIds.KernelNotFound,
            VmPsErrorKind.NotInstalled,
            "No default guest kernel was found: no /boot/vmlinuz-VERSION with a matching /lib/modules/VERSION.")
        {
            RecommendedAction = "Install linux-image-cloud-amd64 (Debian) or linux-image-virtual (Ubuntu), or pass -Kernel.",
        }
        : new VmPsException(
            VmPsErrorIds.KernelNotFound,
            VmPsErrorKind.ObjectNotFound,
            $"The kernel '{path}' does not exist.",
            path);

    public static VmPsException ImageMissing(string vmName, string imageName, string detail) => new(
        VmPsErrorIds.ImageRootfsMissing,
        VmPsErrorKind.ObjectNotFound,
        $"VM '{vmName}' uses image '{imageName}', but {detail}.",
        imageName)
    {
        RecommendedAction = "Remove the VM and create it again from an existing image.",
    };
}
