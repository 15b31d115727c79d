namespace VmPs.Core.Storage.LvmThin;

/// <summary>
/// The pool blocks VmPs's thin volumes hold, for one listing (Get-Vm, Get-VmVolume): each volume group is read by
/// one lvs run, the first time one of its volumes is asked for. An lvs that fails, or a volume it does not report
/// (an inactive one), counts 0: the listing shows every VM and volume rather than failing on one figure.
/// </summary>
internal sealed class ThinUsage
{
    private readonly LvmCommandRunner run;
    private readonly Dictionary<string, IReadOnlyDictionary<string, long>> byGroup = new(StringComparer.Ordinal);

    public ThinUsage(LvmCommandRunner run) => this.run = run;

    public async Task<long> AllocatedBytesAsync(string volumeGroup, string logicalVolume, CancellationToken cancellationToken)
    {
        if (!byGroup.TryGetValue(volumeGroup, out var usage))
        {
            usage = await ReadAsync(volumeGroup, cancellationToken).ConfigureAwait(false);
            byGroup[volumeGroup] = usage;
        }

        return usage.GetValueOrDefault(logicalVolume);
    }

    private async Task<IReadOnlyDictionary<string, long>> ReadAsync(string volumeGroup, CancellationToken cancellationToken)
    {
        try
        {
            return LvmThinPlanner.ParseAllocatedBytes((await run(LvmThinPlanner.InspectUsage(volumeGroup), cancellationToken).ConfigureAwait(false)).StandardOutput);
        }
        catch (VmPsException)
        {
            return new Dictionary<string, long>();
        }
    }
}
