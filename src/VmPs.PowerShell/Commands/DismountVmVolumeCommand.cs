using System.Management.Automation;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Detaches a volume from a VM; the volume and its data stay, ready for another VM. A running VM's guest unmounts it
/// and its disk is unplugged, where the hypervisor can hot-plug.
/// </summary>
[Cmdlet(VerbsData.Dismount, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class DismountVmVolumeCommand : VolumeAttachmentCmdlet
{
    /// <summary>Detaches from a running VM even while files on the volume are open in the guest (lazy unmount, then unplug).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override string Action => $"Detach volume '{Name}'";

    protected override Task<VolumeInfo> Change(string vm, CancellationToken cancellationToken) =>
        Manager.DismountAsync(vm, Name, Force, cancellationToken);
}
