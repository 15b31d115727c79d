using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Stop-Vm and Restart-Vm: a guest shutdown, forced with -Force, or the hypervisor killed at once with -TurnOff.</summary>
public abstract class VmShutdownCmdlet : VmStateChangeCmdlet
{
    /// <summary>Shut the guest down without waiting on its programs: they are killed, then the guest syncs and powers off.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Kill the hypervisor at once, like pulling the power: the guest does not shut down.</summary>
    [Parameter]
    public SwitchParameter TurnOff { get; set; }

    protected VmStopMethod Method => TurnOff ? VmStopMethod.TurnOff : Force ? VmStopMethod.ForcedShutdown : VmStopMethod.Shutdown;

    /// <summary>What the shutdown does, as a progress status.</summary>
    protected string ShutdownStatus => Method switch
    {
        VmStopMethod.TurnOff => "Killing the hypervisor",
        VmStopMethod.ForcedShutdown => "Shutting the guest down, killing its programs",
        _ => "Shutting the guest down",
    };

    protected VmStopOptions StopOptions()
    {
        var options = new VmStopOptions { Method = Method };
        return options with { Timeout = TimeoutOr(options.Timeout) };
    }
}
