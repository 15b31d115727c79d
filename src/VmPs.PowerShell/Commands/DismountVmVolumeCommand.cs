using System.Management.Automation;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Detaches a volume from a VM; the volume and its data stay, ready for another VM.</summary>
[Cmdlet(VerbsData.Dismount, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class DismountVmVolumeCommand : VolumeAttachmentCmdlet
{
    protected override string Action => $"Detach volume '{Name}'";

    protected override Task<VolumeInfo> Change(string vm, CancellationToken cancellationToken) =>
        Manager.DismountAsync(vm, Name, cancellationToken);
}
