using System.Management.Automation;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes VMs with their disks and state. A running VM is refused unless -Force stops it first.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmCommand : VmTargetCmdlet
{
    /// <summary>Stop a running VM (killing its hypervisor) before removing it.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessVm(string name)
    {
        if (ShouldProcess(name, Force ? "Remove VM (stopping it first if running)" : "Remove VM"))
        {
            Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
        }
    }
}
