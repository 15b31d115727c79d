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

    public Task ResizeVolumeAsync(Guid volumeId, long sizeBytes, bool growFilesystem, CancellationToken cancellationToken) =>
        RunAsync(Planner.ResizeVolume(volumeId, sizeBytes, growFilesystem), [], cancellationToken);

    public Task RemoveVolumeAsync(Guid volumeId, CancellationToken cancellationToken) =>
        RunAsync(Planner.RemoveVolume(volumeId), [], cancellationToken);

    /// <summary>The pool blocks each VmPs thin volume of the volume group holds, by logical volume name (one lvs run).</summary>
    public async Task<IReadOnlyDictionary<string, long>> AllocatedBytesAsync(CancellationToken cancellationToken) =>
        LvmThinPlanner.ParseAllocatedBytes((await run(Planner.InspectUsage(), cancellationToken).ConfigureAwait(false)).StandardOutput);

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
