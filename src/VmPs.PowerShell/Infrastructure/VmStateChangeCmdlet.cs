using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Start-Vm and Stop-Vm: a change of VM state bounded by -TimeoutSec, returning the VM with -PassThru.</summary>
public abstract class VmStateChangeCmdlet : VmTargetCmdlet
{
    /// <summary>How long the change may take: Start-Vm's wait for the agent, Stop-Vm's graceful shutdown.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected TimeSpan TimeoutOr(TimeSpan defaultTimeout) => Seconds(TimeoutSec) ?? defaultTimeout;

    protected void WritePassThru(VmInfo vm)
    {
        if (PassThru)
        {
            WriteVm(vm);
        }
    }
}
