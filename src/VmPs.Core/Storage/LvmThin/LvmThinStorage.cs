namespace VmPs.Core.Storage.LvmThin;

/// <summary>
/// Runs the plans of one thin pool (<see cref="LvmThinPlanner"/>) through the host's runner. A plan that fails after
/// its thin volume was made removes that volume again, so a failed create leaves nothing in the pool.
/// </summary>
internal sealed class LvmThinStorage
{
    private readonly LvmCommandRunner run;

    public LvmThinStorage(LvmThinPlanner planner, LvmCommandRunner run)
    {
        Planner = planner;
        this.run = run;
    }

    public LvmThinPlanner Planner { get; }

    /// <summary>Makes the volume's thin volume (formatted when <paramref name="ext4"/>); returns the device the VM gets.</summary>
    public async Task<string> CreateVolumeAsync(Guid volumeId, long sizeBytes, bool ext4, CancellationToken cancellationToken)
    {
        await RunAsync(Planner.CreateVolume(volumeId, sizeBytes, ext4), Planner.RemoveVolume(volumeId), cancellationToken).ConfigureAwait(false);
        return Planner.DevicePath(LvmThinPlanner.VolumeName(volumeId));
    }

    /// <summary>A direct-boot VM's writable disk, empty and formatted (<see cref="LvmThinPlanner.CreateVmOverlay"/>).</summary>
    public Task CreateVmOverlayAsync(Guid vmId, long sizeBytes, CancellationToken cancellationToken) =>
        RunAsync(Planner.CreateVmOverlay(vmId, sizeBytes), Planner.RemoveVmDisk(vmId), cancellationToken);

    /// <summary>
    /// A disk image VM's disk: a snapshot of the image's base, which is written first when the pool has none yet.
    /// The caller holds the image's lock, so two sessions never write one base.
    /// </summary>
    public async Task CreateVmDiskAsync(Guid vmId, long sizeBytes, BaseImage image, CancellationToken cancellationToken)
    {
        var volumes = await VolumeNamesAsync(cancellationToken).ConfigureAwait(false);
        if (!volumes.Contains(LvmThinPlanner.BaseImageName(image.Id)))
        {
            if (volumes.Contains(LvmThinPlanner.PartialBaseImageName(image.Id)))
            {
                await RunAsync(Planner.RemovePartialBaseImage(image.Id), [], cancellationToken).ConfigureAwait(false);
            }

            await RunAsync(Planner.CreateBaseImage(image.Id, image.VirtualSizeBytes, image.File, image.Format), Planner.RemovePartialBaseImage(image.Id), cancellationToken).ConfigureAwait(false);
        }

        await RunAsync(Planner.CreateVmDisk(image.Id, image.VirtualSizeBytes, vmId, sizeBytes, growFilesystem: false), Planner.RemoveVmDisk(vmId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes the image's base, and a partial one a killed write left, where the pool has them.</summary>
    public async Task RemoveBaseImageAsync(Guid imageId, CancellationToken cancellationToken)
    {
        var volumes = await VolumeNamesAsync(cancellationToken).ConfigureAwait(false);
        if (volumes.Contains(LvmThinPlanner.BaseImageName(imageId)))
        {
            await RunAsync(Planner.RemoveBaseImage(imageId), [], cancellationToken).ConfigureAwait(false);
        }

        if (volumes.Contains(LvmThinPlanner.PartialBaseImageName(imageId)))
        {
            await RunAsync(Planner.RemovePartialBaseImage(imageId), [], cancellationToken).ConfigureAwait(false);
        }
    }

    public Task ResizeVolumeAsync(Guid volumeId, long sizeBytes, bool growFilesystem, CancellationToken cancellationToken) =>
        RunAsync(Planner.ResizeVolume(volumeId, sizeBytes, growFilesystem), [], cancellationToken);

    public Task RemoveVolumeAsync(Guid volumeId, CancellationToken cancellationToken) =>
        RunAsync(Planner.RemoveVolume(volumeId), [], cancellationToken);

    private async Task<IReadOnlySet<string>> VolumeNamesAsync(CancellationToken cancellationToken) =>
        LvmThinPlanner.ParseVolumeNames((await run(Planner.InspectUsage(), cancellationToken).ConfigureAwait(false)).StandardOutput);

    /// <summary>
    /// Runs the plan in order. When a later command fails, <paramref name="undo"/> runs (its own failure is not
    /// reported: the first error is the one the user needs) and the error is rethrown.
    /// </summary>
    private async Task RunAsync(IReadOnlyList<LvmCommand> plan, IReadOnlyList<LvmCommand> undo, CancellationToken cancellationToken)
    {
        for (var step = 0; step < plan.Count; step++)
        {
            try
            {
                await run(plan[step], cancellationToken).ConfigureAwait(false);
            }
            catch when (step > 0)
            {
                foreach (var command in undo)
                {
                    try
                    {
                        await run(command, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (VmPsException)
                    {
                    }
                }

                throw;
            }
        }
    }
}

/// <summary>A disk image as a thin pool's base holds it: the image's id, its disk's virtual size, file and format.</summary>
internal sealed record BaseImage(Guid Id, long VirtualSizeBytes, string File, Hypervisors.DiskImageFormat Format);
