using VmPs.Core.Volumes;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the volume cmdlets: the volume manager and name patterns.</summary>
public abstract class VolumeCmdlet : AsyncCmdlet
{
    protected const long BytesPerGiB = 1L << 30;

    protected IVolumeManager Manager => Services.Volumes;

    protected void WriteVolume(VolumeInfo volume) => WriteTypedObject(volume, PSTypeNames.VmVolume);

    /// <summary>The volumes whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<VolumeInfo> MatchingVolumes(string pattern) =>
        NamePatterns.Matching(Await(Manager.GetAllAsync), volume => volume.Name, pattern);

    /// <summary>Volumes given as objects, or names with wildcards expanded; a literal unknown name stays so Core reports VolumeNotFound.</summary>
    protected IEnumerable<string> TargetNames(VolumeInfo[]? objects, IEnumerable<string> names) =>
        objects?.Select(volume => volume.Name) ?? NamePatterns.Expand(names, pattern => MatchingVolumes(pattern).Select(volume => volume.Name));
}
