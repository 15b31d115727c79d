using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Start-Vm, Stop-Vm and Restart-Vm: a change of VM state bounded by -TimeoutSec, returning the VM with -PassThru, in a job with -AsJob.</summary>
public abstract class VmStateChangeCmdlet : VmPassThruCmdlet
{
    /// <summary>How long the change may take: Start-Vm's wait for the agent, Stop-Vm's graceful shutdown, each of them in Restart-Vm.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    /// <summary>Run in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected TimeSpan TimeoutOr(TimeSpan defaultTimeout) => Seconds(TimeoutSec) ?? defaultTimeout;

    /// <summary>A booted VM's output; a disk image VM whose agent did not answer runs, and the user learns why commands cannot reach it.</summary>
    protected PSObject? BootedOutput(VmInfo vm, IOperationReport progress)
    {
        if (vm.State == VmState.Running && vm.StatusDetail is { } withoutAgent)
        {
            progress.Warn(withoutAgent);
        }

        return PassThruOutput(vm);
    }
}
