using System.Management.Automation;
using VmPs.Core;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes VMs with their disks and state. Asks first (ConfirmImpact High, as Hyper-V's Remove-VM); -Force does not
/// ask and turns a running VM off first, which is otherwise refused.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmCommand : VmTargetCmdlet
{
    /// <summary>Remove without asking, turning a running VM off (killing its hypervisor) first.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessVm(string name)
    {
        if (ShouldProcess(name, Force ? "Remove VM (turning it off first if running)" : "Remove VM", Force))
        {
            Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            RemoveRoutes(name);
        }
    }

    /// <summary>The VM's routes went with its row; the ingress stops serving them now, before its address is given to another VM.</summary>
    private void RemoveRoutes(string name)
    {
        try
        {
            Await(Services.Ingress.RefreshAsync);
        }
        catch (VmPsException exception)
        {
            WriteWarning($"VM '{name}' was removed, but the ingress still serves its routes until its next change: {exception.Message}");
        }
    }
}
