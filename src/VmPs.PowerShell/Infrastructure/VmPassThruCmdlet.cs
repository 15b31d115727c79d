using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>A change of VM state that returns the VM with -PassThru (Suspend-Vm, Resume-Vm, Save-Vm; Start-Vm and Stop-Vm add a timeout).</summary>
public abstract class VmPassThruCmdlet : VmTargetCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>An operation's output: the VM with -PassThru, else nothing.</summary>
    protected PSObject? PassThruOutput(VmInfo vm) => PassThru ? PSTypeNames.Tag(vm, PSTypeNames.Vm) : null;

    protected void WritePassThru(VmInfo vm)
    {
        if (PassThru)
        {
            WriteVm(vm);
        }
    }
}
