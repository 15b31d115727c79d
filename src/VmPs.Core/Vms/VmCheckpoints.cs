using System.Text.Json;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Kernels;
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

    /// <summary>How its disk was copied: Reflink shares the VM's blocks; FullCopy wrote the allocated data (a file system without reflink).</summary>
    public required CopyMethod DiskCopy { get; init; }
}

/// <summary>
/// Checkpoint-Vm, Get-VmCheckpoint, Restore-VmCheckpoint and Remove-VmCheckpoint. A checkpoint is a directory under
/// the VM's checkpoints/: checkpoint.json, a copy of the overlay disk made while the guest's vCPUs stand still, and,
/// for a VM that runs, its memory and device state sealed like a saved state. It is written as NAME.partial and
/// renamed when whole, so a killed session leaves no half checkpoint. Restoring puts the disk back and, with memory,
/// makes the checkpoint's state the VM's saved state: the VM is then Saved, and Start-Vm resumes it from there.
/// </summary>
internal sealed class VmCheckpoints
{
    private const string DescriptionFile = "checkpoint.json";
    private const string DiskFile = "overlay.ext4";
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

        var partial = directory + PartialSuffix;
        VmStandby.DeleteDirectory(partial);
        PrivateFiles.CreateDirectory(files.Checkpoints);
        PrivateFiles.CreateDirectory(partial);
        var live = vm.State is VmState.Running or VmState.Paused ? vm.Instance : null;
        IHypervisorDriver? driver = null;
        try
        {
            CopyMethod diskCopy;
            if (live is not null)
            {
                driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
                driver.Capabilities.Require(HypervisorFeatures.Snapshot, vm.Name);
                var state = Path.Combine(partial, StateDirectory);
                PrivateFiles.CreateDirectory(state);
                // The driver leaves the vCPUs stopped and the disks flushed, so the disk copy matches the memory.
                await driver.SaveStateAsync(live, state, cancellationToken).ConfigureAwait(false);
                diskCopy = await FileCopy.CopyAsync(files.OverlayDisk, Path.Combine(partial, DiskFile), cancellationToken).ConfigureAwait(false);
                var launchSpec = await File.ReadAllTextAsync(files.LaunchSpec, cancellationToken).ConfigureAwait(false);
                await VmSavedState.SealAsync(state, vm.Hypervisor, launchSpec, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                diskCopy = await FileCopy.CopyAsync(files.OverlayDisk, Path.Combine(partial, DiskFile), cancellationToken).ConfigureAwait(false);
                if (vm.State == VmState.Saved)
                {
                    await CopyDirectoryAsync(files.SavedState, Path.Combine(partial, StateDirectory), cancellationToken).ConfigureAwait(false);
                }
            }

            var description = new CheckpointDescription(name, DateTimeOffset.UtcNow, Directory.Exists(Path.Combine(partial, StateDirectory)), diskCopy);
            await using (var output = PrivateFiles.Open(Path.Combine(partial, DescriptionFile), FileMode.CreateNew, FileAccess.Write))
            {
                await JsonSerializer.SerializeAsync(output, description, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            Directory.Move(partial, directory);
        }
        catch (Exception failure) when (failure is not OperationCanceledException)
        {
            VmStandby.DeleteDirectory(partial);
            throw new VmPsException(
                VmPsErrorIds.CheckpointFailed,
                VmPsErrorKind.InvalidOperation,
                $"Checkpoint '{name}' of VM '{vm.Name}' could not be made, and the VM is {vm.State.ToString().ToLowerInvariant()} as before: {failure.Message}",
                vm.Name,
                failure);
        }
        catch
        {
            VmStandby.DeleteDirectory(partial);
            throw;
        }
        finally
        {
            if (live is not null && vm.State == VmState.Running)
            {
                await driver!.ResumeAsync(live, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return Read(vm, directory);
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
        var disk = files.OverlayDisk + PartialSuffix;
        File.Delete(disk);
        VmStandby.DeleteDirectory(files.SavedStatePartial);
        try
        {
            await FileCopy.CopyAsync(Path.Combine(directory, DiskFile), disk, cancellationToken).ConfigureAwait(false);
            if (checkpoint.HasMemory)
            {
                await CopyDirectoryAsync(Path.Combine(directory, StateDirectory), files.SavedStatePartial, cancellationToken).ConfigureAwait(false);
            }

            VmStandby.DeleteDirectory(files.SavedState);
            File.Move(disk, files.OverlayDisk, overwrite: true);
            if (checkpoint.HasMemory)
            {
                Directory.Move(files.SavedStatePartial, files.SavedState);
            }
        }
        finally
        {
            File.Delete(disk);
            VmStandby.DeleteDirectory(files.SavedStatePartial);
        }

        return await vms.UpdateAsync(
            vm.Id,
            current => current.State.IsActive()
                ? throw VmErrors.Running(current.Name, current.State)
                : checkpoint.HasMemory ? current.Saved() : current.Stopped(exitCode: null, detail: $"Restored to checkpoint '{checkpoint.Name}'."),
            cancellationToken).ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);
    }

    /// <summary>
    /// The launch settings the checkpoint's memory was saved with (from its manifest), or null for a disk-only
    /// checkpoint: a fork must have the same hardware. Read before anything is made for the fork.
    /// </summary>
    public async Task<VmLaunchSpec?> SavedLaunchSpecAsync(VmRecord vm, string name, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        return checkpoint.HasMemory
            ? VmSavedState.LaunchSpecOf(await VmSavedState.ReadManifestAsync(vm.Name, Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name, StateDirectory), cancellationToken).ConfigureAwait(false))
            : null;
    }

    /// <summary>
    /// Gives a fork the checkpoint's disk as its overlay and, with memory, the checkpoint's state as its saved state.
    /// The state files are hard links: nothing ever writes a saved state's files, so forks and the checkpoint share
    /// them, and a file stays on disk until the last of them is removed (a removed checkpoint's memory lives on for
    /// its forks that were not started yet).
    /// </summary>
    public async Task<VmCheckpointInfo> CopyToForkAsync(VmRecord vm, string name, VmFiles fork, CancellationToken cancellationToken)
    {
        var checkpoint = Find(vm, name);
        var directory = Path.Combine(reconciler.Files(vm).Checkpoints, checkpoint.Name);
        await FileCopy.CopyAsync(Path.Combine(directory, DiskFile), fork.OverlayDisk, cancellationToken).ConfigureAwait(false);
        if (checkpoint.HasMemory)
        {
            PrivateFiles.CreateDirectory(fork.SavedStatePartial);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(directory, StateDirectory)))
            {
                VolumeFiles.HardLink(file, Path.Combine(fork.SavedStatePartial, Path.GetFileName(file)));
            }

            Directory.Move(fork.SavedStatePartial, fork.SavedState);
        }

        return checkpoint;
    }

    public void Remove(VmRecord vm, string name) =>
        VmStandby.DeleteDirectory(Path.Combine(reconciler.Files(vm).Checkpoints, Find(vm, name).Name));

    public VmCheckpointInfo Find(VmRecord vm, string name) => VmStateRules.RequireCheckpoint(List(vm), vm.Name, name);

    private static VmCheckpointInfo Read(VmRecord vm, string directory)
    {
        var path = Path.Combine(directory, DescriptionFile);
        var description = new FileInfo(path).Length <= MaxDescriptionBytes
            ? JsonSerializer.Deserialize<CheckpointDescription>(File.ReadAllText(path))
            : null;
        if (description is null || description.Name != Path.GetFileName(directory))
        {
            throw new VmPsException(VmPsErrorIds.CheckpointNotFound, VmPsErrorKind.InvalidData, $"The checkpoint in '{directory}' has no readable description.", directory);
        }

        return new VmCheckpointInfo
        {
            Name = description.Name,
            VmName = vm.Name,
            Created = description.Created,
            SizeBytes = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(UnixFileType.AllocatedBytes),
            HasMemory = description.HasMemory,
            DiskCopy = description.DiskCopy,
        };
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

    /// <summary>Copies the files of a flat state directory (reflinks where the file system shares blocks) into a new private one.</summary>
    private static async Task CopyDirectoryAsync(string source, string destination, CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            await FileCopy.CopyAsync(file, Path.Combine(destination, Path.GetFileName(file)), cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed record CheckpointDescription(string Name, DateTimeOffset Created, bool HasMemory, CopyMethod DiskCopy);
}
