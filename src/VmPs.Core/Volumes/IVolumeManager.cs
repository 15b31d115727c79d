namespace VmPs.Core.Volumes;

/// <summary>
/// The operations behind the volume cmdlets (New-/Get-/Remove-/Copy-/Resize-/Mount-/Dismount-VmVolume).
/// <see cref="VolumeManager"/> is the real one; cmdlet tests use fakes.
/// </summary>
public interface IVolumeManager
{
    /// <summary>Builds the volume's file (empty, or from a directory or archive); on any failure nothing is left behind.</summary>
    Task<VolumeInfo> CreateAsync(VolumeCreateOptions options, CancellationToken cancellationToken);

    Task<IReadOnlyList<VolumeInfo>> GetAllAsync(CancellationToken cancellationToken);

    /// <summary>The volume with this name (case-insensitive); throws VolumeNotFound.</summary>
    Task<VolumeInfo> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>Deletes the volume and its file; an attached volume is refused unless <paramref name="force"/>, which detaches it first (a running VM's disk is unplugged where its hypervisor can).</summary>
    Task RemoveAsync(string name, bool force, CancellationToken cancellationToken);

    /// <summary>A copy-on-write copy where the host allows one (reflink, else a shared qcow2 base), a full copy otherwise; says which.</summary>
    Task<VolumeCopyResult> CopyAsync(string source, string destination, CancellationToken cancellationToken);

    /// <summary>Grows the volume and its filesystem.</summary>
    Task<VolumeInfo> ResizeAsync(string name, long sizeBytes, CancellationToken cancellationToken);

    /// <summary>Attaches the volume to a VM at a guest path (a running VM gets it hot-plugged where its hypervisor can).</summary>
    Task<VolumeInfo> MountAsync(string vmName, VolumeAttachOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// Detaches the volume from a VM; a running VM's guest unmounts it first, which is refused while files on it are
    /// open (GuestVolumeBusy) unless <paramref name="force"/>, which unmounts lazily and unplugs it anyway.
    /// </summary>
    Task<VolumeInfo> DismountAsync(string vmName, string volumeName, bool force, CancellationToken cancellationToken);
}
