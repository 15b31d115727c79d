using System.Text.Json;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Kernels;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Volumes;

namespace VmPs.Core.Vms;

/// <summary>A named checkpoint of a VM (Get-VmCheckpoint's VmPs.VmCheckpoint objects).</summary>
public sealed record VmCheckpointInfo
{
    public required string Name { get; init; }

    public required string VmName { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>What its files take on disk (holes of the sparse disk copy not counted).</summary>
    public required long SizeBytes { get; init; }

    /// <summary>True when it holds the VM's memory (taken while the VM ran, or was paused or saved): restoring it leaves the VM Saved.</summary>
    public required bool HasMemory { get; init; }

    /// <summary>How its disk was kept: Reflink shares the VM's blocks; BackingFile froze the VM's disk, which the VM now writes over as a qcow2 file; FullCopy wrote the allocated data.</summary>
    public required CopyMethod DiskCopy { get; init; }
}

/// <summary>
/// Checkpoint-Vm, Get-VmCheckpoint, Restore-VmCheckpoint and Remove-VmCheckpoint. A checkpoint is a directory under
/// the VM's checkpoints/: checkpoint.json, the VM's disk as it was while the guest's vCPUs stood still, and, for a
/// VM that runs, its memory and device state sealed like a saved state. The disk is copy-on-write: a reflink in the
/// checkpoint where the file system shares blocks, else the VM's disk frozen as a qcow2 backing file (base-ID) that
/// the VM writes over from then on (VmDiskChain); a full copy only where neither can be made (it says so in DiskCopy).
/// Saved state files are never written, so checkpoints, saved states and forks share them as hard links. It is written as NAME.partial and
/// renamed when whole, so a killed session leaves no half checkpoint. Restoring puts the disk back and, with memory,
/// makes the checkpoint's state the VM's saved state: the VM is then Saved, and Start-Vm resumes it from there.
/// </summary>
internal sealed class VmCheckpoints
{
    public const string CrashAfterNewFile = "Checkpoint-Vm: the VM's new disk file made";
    public const string CrashAfterNewFileRecorded = "Checkpoint-Vm: the VM's new disk file recorded";
    public const string CrashAfterRestoreRecorded = "Restore-VmCheckpoint: the VM's new disk file recorded";

    private const string DescriptionFile = "checkpoint.json";
    private const string StateDirectory = "state";
    private const string PartialSuffix = ".partial";

    // A checkpoint.json is a few hundred bytes; anything far larger is not one of ours.
    private const long MaxDescriptionBytes = 64 * 1024;

    private readonly VmStore vms;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;

    public VmCheckpoints(VmStore vms, VmReconciler reconciler, HostContext host)
    {
        this.vms = vms;
        this.reconciler = reconciler;
        this.host = host;
    }

    public async Task<VmCheckpointInfo> CreateAsync(VmRecord vm, string name, CancellationToken cancellationToken)
    {
        ValidateName(name);
        if (vm.State is VmState.Starting or VmState.Stopping)
        {
            throw VmErrors.NotRunning(vm.Name, vm.State);
        }

        var files = reconciler.Files(vm);
        var directory = Path.Combine(files.Checkpoints, name);
        if (Directory.Exists(directory))
        {
            throw new VmPsException(VmPsErrorIds.CheckpointNameInUse, VmPsErrorKind.ResourceExists, $"VM '{vm.Name}' already has a checkpoint named '{name}'.", name)
            {
                RecommendedAction = "Choose another name, or remove that checkpoint with Remove-VmCheckpoint.",
            };
        }

        using var diskLock = await FileLock.AcquireAsync(files.DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        vm = await ReadAgainAsync(vm, cancellationToken).ConfigureAwait(false);
        if (vm.State is VmState.Starting or VmState.Stopping)
        {
            throw VmErrors.NotRunning(vm.Name, vm.State);
        }

        if (vm.State is VmState.Running or VmState.Paused && (await vms.SharesAsync(vm.Id, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            throw VmErrors.SharesNotSavable(vm.Name, "a checkpoint (which holds the memory)");
        }

        var partial = directory + PartialSuffix;
        VmDirectorySweep.DeleteDirectory(partial);
        await DeleteUnusedDisksAsync(vm, cancellationToken).ConfigureAwait(false);
        PrivateFiles.CreateDirectory(files.Checkpoints);
        PrivateFiles.CreateDirectory(partial);
        var live = vm.State is VmState.Running or VmState.Paused ? vm.Instance : null;
        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        string? newTop = null;
        try
        {
            CheckpointDisk disk;
            if (live is not null)
            {
                driver.Capabilities.Require(HypervisorFeatures.Snapshot, vm.Name);
                var state = Path.Combine(partial, StateDirectory);
                PrivateFiles.CreateDirectory(state);
                // The driver leaves the vCPUs stopped and the disks flushed, so the disk copy matches the memory.
                await driver.SaveStateAsync(live, state, cancellationToken).ConfigureAwait(false);
                if (vm.DiskFile is not null)
                {
                    // Completes a session killed between recording the VM's newest file and moving QEMU onto it.
                    await driver.SnapshotDiskAsync(live, VmBoot.OverlayDiskIndex, files.Disk(vm.DiskFile), cancellationToken).ConfigureAwait(false);
                }

                disk = await CopyDiskAsync(vm, files, partial, driver, cancellationToken).ConfigureAwait(false);
                newTop = disk.NewTop;
                var launchSpec = await File.ReadAllTextAsync(files.LaunchSpec, cancellationToken).ConfigureAwait(false);
                await VmSavedState.SealAsync(state, vm.Hypervisor, launchSpec, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                disk = await CopyDiskAsync(vm, files, partial, driver, cancellationToken).ConfigureAwait(false);
                newTop = disk.NewTop;
                if (vm.State == VmState.Saved)
                {
                    LinkDirectory(files.SavedState, Path.Combine(partial, StateDirectory));
                }
            }

            var description = new CheckpointDescription(
                name, DateTimeOffset.UtcNow, Directory.Exists(Path.Combine(partial, StateDirectory)), disk.Method, vm.DiskFormat, newTop is null ? null : vm.DiskFileName);
            await using (var output = PrivateFiles.Open(Path.Combine(partial, DescriptionFile), FileMode.CreateNew, FileAccess.Write))
            {
                await JsonSerializer.SerializeAsync(output, description, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            if (newTop is not null)
            {
                // Recorded before the hypervisor moves: a session killed in between leaves the VM on an empty file over
                // the one QEMU still writes, which reads the same, and the next checkpoint moves QEMU onto it.
                CrashPoint.Reach(CrashAfterNewFile);
                await vms.SetDiskFileAsync(vm.Id, newTop, DiskImageFormat.Qcow2, CancellationToken.None).ConfigureAwait(false);
                var frozen = vm.DiskFileName;
                newTop = null;
                CrashPoint.Reach(CrashAfterNewFileRecorded);
                if (live is not null)
                {
                    await driver.SnapshotDiskAsync(live, VmBoot.OverlayDiskIndex, files.Disk(disk.NewTop!), cancellationToken).ConfigureAwait(false);
                }

                VmDiskChain.Seal(files, frozen);
            }

            Directory.Move(partial, directory);
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            Discard(files, partial, newTop);
            throw new VmPsException(
                VmPsErrorIds.CheckpointFailed,
                VmPsErrorKind.InvalidOperation,
                $"Checkpoint '{name}' of VM '{vm.Name}' could not be made, and the VM is {vm.State.ToString().ToLowerInvariant()} as before: {failure.Message}",
                vm.Name,
                failure);
        }
        catch
        {
            Discard(files, partial, newTop);
            throw;
        }
        finally
        {
            if (live is not null && vm.State == VmState.Running)
            {
                await driver.ResumeAsync(live, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return Read(vm, directory);
    }

    /// <summary>
    /// The checkpoint's disk. A file without a backing file (the one New-Vm made, or any raw one) is reflinked into
    /// the checkpoint where the file system shares blocks, and fully copied where the hypervisor cannot take a
    /// qcow2 chain; else the VM's file is frozen in place and a new qcow2 file over it (<see cref="CheckpointDisk.NewTop"/>)
    /// becomes the VM's disk.
    /// </summary>
    private static async Task<CheckpointDisk> CopyDiskAsync(VmRecord vm, VmFiles files, string partial, IHypervisorDriver driver, CancellationToken cancellationToken)
    {
        if (vm.DiskFile is null || vm.DiskFormat == DiskImageFormat.Raw)
        {
            var source = files.Disk(vm.DiskFileName);
            var copy = Path.Combine(partial, VmFiles.OverlayDiskName(vm.DiskFormat));
            if (FileCopy.TryReflink(source, copy))
            {
                return new CheckpointDisk(CopyMethod.Reflink, null);
            }

            if (!QemuImage.IsInstalled || !driver.Capabilities.Supports(HypervisorFeatures.LiveDiskSnapshot))
            {
                await FileCopy.SparseCopyAsync(source, copy, cancellationToken).ConfigureAwait(false);
                return new CheckpointDisk(CopyMethod.FullCopy, null);
            }
        }

        driver.Capabilities.Require(HypervisorFeatures.LiveDiskSnapshot, vm.Name);
        var top = VmDiskChain.NewName(DiskImageFormat.Qcow2);
        VmDiskChain.NewTop(files, top, vm.DiskFileName, vm.DiskSizeBytes);
        return new CheckpointDisk(CopyMethod.BackingFile, top);
    }

    /// <summary>Undoes a checkpoint not made: its directory, and the VM's new file while the VM's row does not name it.</summary>
    private static void Discard(VmFiles files, string partial, string? newTop)
    {
        VmDirectorySweep.DeleteDirectory(partial);
        if (newTop is not null)
        {
            File.Delete(files.Disk(newTop));
        }
    }

    /// <summary>The VM's checkpoints, oldest first.</summary>
    public IReadOnlyList<VmCheckpointInfo> List(VmRecord vm)
    {
        var root = reconciler.Files(vm).Checkpoints;
        if (!Directory.Exists(root))
        {
            return [];
        }

        return Directory.EnumerateDirectories(root)
            .Where(directory => !directory.EndsWith(PartialSuffix, StringComparison.Ordinal) && File.Exists(Path.Combine(directory, DescriptionFile)))
            .Select(directory => Read(vm, directory))
            .OrderBy(checkpoint => checkpoint.Created)
            .ToList();
    }

    /// <summary>
    /// Puts the checkpoint's disk back and, with memory, its state as the VM's saved state (the VM becomes Saved; else
    /// Stopped). <paramref name="turnOff"/> ends a VM that runs first: its current state is lost.
    /// </summary>
    public async Task<VmRecord> RestoreAsync(VmRecord vm, string name, Func<VmRecord, Task<VmRecord>> turnOff, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        var directory = Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name);
        if (vm.State.IsActive())
        {
            vm = await turnOff(vm).ConfigureAwait(false);
        }

        var files = reconciler.Files(vm);
        using var diskLock = await FileLock.AcquireAsync(files.DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        vm = await ReadAgainAsync(vm, cancellationToken).ConfigureAwait(false);
        if (vm.State.IsActive())
        {
            throw VmErrors.Running(vm.Name, vm.State);
        }

        var description = ReadDescription(directory);
        // The VM takes the vCPUs and memory its state was saved with (a running VM's may have changed since: Set-Vm).
        var saved = await SavedLaunchSpecAsync(vm, name, cancellationToken).ConfigureAwait(false);
        VmDirectorySweep.DeleteDirectory(files.SavedStatePartial);
        var format = RestoredFormat(description);
        var disk = VmDiskChain.NewName(format);
        var recorded = false;
        try
        {
            await CheckpointDiskToAsync(directory, description, files, disk, vm.DiskSizeBytes, cancellationToken).ConfigureAwait(false);
            if (checkpoint.HasMemory)
            {
                LinkDirectory(Path.Combine(directory, StateDirectory), files.SavedStatePartial);
            }

            VmDirectorySweep.DeleteDirectory(files.SavedState);
            await vms.SetDiskFileAsync(vm.Id, disk, format, cancellationToken).ConfigureAwait(false);
            recorded = true;
            CrashPoint.Reach(CrashAfterRestoreRecorded);
            if (checkpoint.HasMemory)
            {
                Directory.Move(files.SavedStatePartial, files.SavedState);
            }
        }
        finally
        {
            if (!recorded)
            {
                File.Delete(files.Disk(disk));
            }

            VmDirectorySweep.DeleteDirectory(files.SavedStatePartial);
        }

        await DeleteUnusedDisksAsync(vm with { DiskFile = disk, DiskFormat = format }, cancellationToken).ConfigureAwait(false);
        return await vms.UpdateAsync(
            vm.Id,
            current => current.State.IsActive()
                ? throw VmErrors.Running(current.Name, current.State)
                : saved is not null ? current.Saved() with { Cpus = saved.Cpus, MemoryMiB = saved.MemoryMiB } : current.Stopped(exitCode: null, detail: $"Restored to checkpoint '{checkpoint.Name}'."),
            cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);
    }

    /// <summary>The launch settings the checkpoint's memory was saved with (from its manifest), or null for a disk-only checkpoint.</summary>
    private async Task<VmLaunchSpec?> SavedLaunchSpecAsync(VmRecord vm, string name, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        return checkpoint.HasMemory
            ? VmSavedState.LaunchSpecOf(await VmSavedState.ReadManifestAsync(vm.Name, Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name, StateDirectory), cancellationToken).ConfigureAwait(false))
            : null;
    }

    /// <summary>
    /// <see cref="SavedLaunchSpecAsync"/> for a fork, which must have the same hardware; read before anything is made
    /// for it. The checkpoint's state files are checked against its manifest first (all there, regular files of the
    /// sizes saved), so no fork is made of a truncated state (CheckpointNotForkable). Their digests are checked by the
    /// fork's Start-Vm, before the state is loaded, as for every restore: hashing the memory here too would double
    /// the cost of a fork.
    /// </summary>
    public async Task<VmLaunchSpec?> ForkableLaunchSpecAsync(VmRecord vm, string name, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        if (!checkpoint.HasMemory)
        {
            return null;
        }

        var state = Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name, StateDirectory);
        var manifest = await VmSavedState.ReadManifestAsync(vm.Name, state, cancellationToken).ConfigureAwait(false);
        return VmSavedState.StructuralDamage(state, manifest) is { } damage
            ? throw VmErrors.CheckpointDamaged(vm.Name, checkpoint.Name, damage)
            : VmSavedState.LaunchSpecOf(manifest);
    }

    /// <summary>
    /// Gives a fork the checkpoint's disk as its overlay and, with memory, the checkpoint's state as its saved state.
    /// The state files are hard links: nothing ever writes a saved state's files, so forks and the checkpoint share
    /// them, and a file stays on disk until the last of them is removed (a removed checkpoint's memory lives on for
    /// its forks that were not started yet).
    /// </summary>
    public async Task<VmCheckpointInfo> CopyToForkAsync(VmRecord vm, string name, VmFiles fork, string diskFile, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        var directory = Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name);
        var description = ReadDescription(directory);
        if (description.DiskBase is { } frozen)
        {
            await VmDiskChain.LinkChainAsync(reconciler.Files(vm), frozen, fork, cancellationToken).ConfigureAwait(false);
        }

        await CheckpointDiskToAsync(directory, description, fork, diskFile, vm.DiskSizeBytes, cancellationToken).ConfigureAwait(false);
        if (checkpoint.HasMemory)
        {
            LinkDirectory(Path.Combine(directory, StateDirectory), fork.SavedStatePartial);
            Directory.Move(fork.SavedStatePartial, fork.SavedState);
        }

        return checkpoint;
    }

    /// <summary>The format and a fresh file name of a fork's disk: qcow2 over the checkpoint's frozen file, or the format of its copy.</summary>
    public (DiskImageFormat Format, string File) ForkDisk(VmRecord vm, string name)
    {
        var format = RestoredFormat(ReadDescription(Path.Combine(reconciler.Files(vm).Checkpoints, Find(vm, name).Name)));
        return (format, VmDiskChain.NewName(format));
    }

    /// <summary>Deletes the checkpoint's files, and the VM's disk files nothing of the VM reads any more (a fork has its own links).</summary>
    public async Task RemoveAsync(VmRecord vm, string name, CancellationToken cancellationToken)
    {
        var files = reconciler.Files(vm);
        using var diskLock = await FileLock.AcquireAsync(files.DiskLock, FileLock.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        vm = await ReadAgainAsync(vm, cancellationToken).ConfigureAwait(false);
        VmDirectorySweep.DeleteDirectory(Path.Combine(files.Checkpoints, Find(vm, name).Name));
        await DeleteUnusedDisksAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    public VmCheckpointInfo Find(VmRecord vm, string name) => VmStateRules.RequireCheckpoint(List(vm), vm.Name, name);

    private VmCheckpointInfo Read(VmRecord vm, string directory)
    {
        var description = ReadDescription(directory);
        var frozenDisk = description.DiskBase is { } frozen ? UnixFileType.AllocatedBytes(reconciler.Files(vm).Disk(frozen)) : 0;
        return new VmCheckpointInfo
        {
            Name = description.Name,
            VmName = vm.Name,
            Created = description.Created,
            SizeBytes = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(UnixFileType.AllocatedBytes) + frozenDisk,
            HasMemory = description.HasMemory,
            DiskCopy = description.DiskCopy,
        };
    }

    private static CheckpointDescription ReadDescription(string directory)
    {
        var path = Path.Combine(directory, DescriptionFile);
        var description = new FileInfo(path).Length <= MaxDescriptionBytes
            ? JsonSerializer.Deserialize<CheckpointDescription>(File.ReadAllText(path))
            : null;
        if (description is null || description.Name != Path.GetFileName(directory)
            || (description.DiskBase is { } frozen && Path.GetFileName(frozen) != frozen))
        {
            throw new VmPsException(VmPsErrorIds.CheckpointNotFound, VmPsErrorKind.InvalidData, $"The checkpoint in '{directory}' has no readable description.", directory);
        }

        return description;
    }

    /// <summary>The format of a disk restored or forked from the checkpoint: qcow2 over its frozen file, or the format of its copy.</summary>
    /// <summary>The format of a disk restored or forked from the checkpoint: qcow2 over its frozen file, or the format of its copy.</summary>
    private static DiskImageFormat RestoredFormat(CheckpointDescription description) => description.DiskBase is null ? description.DiskFormat : DiskImageFormat.Qcow2;

    /// <summary>
    /// Writes the checkpoint's disk as the new file <paramref name="name"/> of <paramref name="files"/>'s VM: a qcow2
    /// file over the frozen file (already in its directory), or a copy (reflink where possible) of the checkpoint's own disk.
    /// </summary>
    private static async Task CheckpointDiskToAsync(
        string directory, CheckpointDescription description, VmFiles files, string name, long sizeBytes, CancellationToken cancellationToken)
    {
        if (description.DiskBase is { } frozen)
        {
            VmDiskChain.NewTop(files, name, frozen, sizeBytes);
        }
        else
        {
            await FileCopy.CopyAsync(Path.Combine(directory, VmFiles.OverlayDiskName(description.DiskFormat)), files.Disk(name), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The VM's row read again under its disk lock: Start-Vm claims the VM, and another session moves its disk, only while holding it.</summary>
    private async Task<VmRecord> ReadAgainAsync(VmRecord vm, CancellationToken cancellationToken) =>
        await vms.FindByIdAsync(vm.Id, cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);

    /// <summary>Deletes the VM's disk files that neither its disk nor any of its checkpoints reads.</summary>
    private async Task DeleteUnusedDisksAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        var root = reconciler.Files(vm).Checkpoints;
        var frozen = Directory.Exists(root)
            ? Directory.EnumerateDirectories(root)
                .Where(directory => !directory.EndsWith(PartialSuffix, StringComparison.Ordinal) && File.Exists(Path.Combine(directory, DescriptionFile)))
                .Select(directory => ReadDescription(directory).DiskBase)
                .OfType<string>()
            : [];
        await VmDiskChain.DeleteUnusedAsync(reconciler.Files(vm), [vm.DiskFileName, .. frozen], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checkpoint-Vm checks this before -WhatIf reports, and <see cref="CreateAsync"/> again.</summary>
    public static void ValidateName(string name)
    {
        if (!VmValidation.IsValidName(name) || name.EndsWith(PartialSuffix, StringComparison.Ordinal))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidCheckpointName,
                VmPsErrorKind.InvalidArgument,
                $"'{name}' is not a valid checkpoint name: use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit.",
                name);
        }
    }

    /// <summary>A new private directory with hard links of a flat saved state directory's files (which nothing ever writes).</summary>
    private static void LinkDirectory(string source, string destination)
    {
        PrivateFiles.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            VolumeFiles.HardLink(file, Path.Combine(destination, Path.GetFileName(file)));
        }
    }

    /// <param name="DiskFormat">The format of the VM's disk when it was taken (Raw in checkpoints made before formats).</param>
    /// <param name="DiskBase">The frozen file of the VM's disk in its directory (BackingFile copies); null: the disk is in the checkpoint.</param>
    private sealed record CheckpointDescription(string Name, DateTimeOffset Created, bool HasMemory, CopyMethod DiskCopy, DiskImageFormat DiskFormat = DiskImageFormat.Raw, string? DiskBase = null);

    /// <param name="NewTop">For BackingFile: the new qcow2 file over the VM's current one, to become its disk.</param>
    private sealed record CheckpointDisk(CopyMethod Method, string? NewTop);
}
