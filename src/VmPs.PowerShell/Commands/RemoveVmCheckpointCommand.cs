using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Deletes checkpoints, as Hyper-V's Remove-VMSnapshot; the VM itself is not changed.</summary>
[Cmdlet(VerbsCommon.Remove, "VmCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmCheckpointCommand : VmCheckpointCmdlet
{
    protected override void Process(VmCheckpointInfo checkpoint)
    {
        if (ShouldProcess(checkpoint.VmName, $"Remove checkpoint '{checkpoint.Name}'", Force))
        {
            Await(cancellationToken => Manager.RemoveCheckpointAsync(checkpoint.VmName, checkpoint.Name, cancellationToken));
        }
    }
}
