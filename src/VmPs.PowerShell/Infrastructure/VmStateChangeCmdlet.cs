using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Start-Vm and Stop-Vm: a change of VM state bounded by -TimeoutSec, returning the VM with -PassThru, in a job with -AsJob.</summary>
public abstract class VmStateChangeCmdlet : VmPassThruCmdlet
{
    /// <summary>How long the change may take: Start-Vm's wait for the agent, Stop-Vm's graceful shutdown.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    /// <summary>Run in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected TimeSpan TimeoutOr(TimeSpan defaultTimeout) => Seconds(TimeoutSec) ?? defaultTimeout;
}
