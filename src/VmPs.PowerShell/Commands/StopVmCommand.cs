using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Shuts VMs down as Hyper-V's Stop-VM does: through the guest (its programs get SIGTERM and a grace period; the
/// power button when the agent does not answer), killing the hypervisor after -TimeoutSec. -Force shuts the guest
/// down without waiting on its programs; -TurnOff kills the hypervisor at once, like pulling the power. -AsJob stops
/// them in a job.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class StopVmCommand : VmStateChangeCmdlet
{
    /// <summary>Shut the guest down without waiting on its programs: they are killed, then the guest syncs and powers off.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Kill the hypervisor at once, like pulling the power: the guest does not shut down.</summary>
    [Parameter]
    public SwitchParameter TurnOff { get; set; }

    protected override void ProcessVm(string name)
    {
        var method = TurnOff ? VmStopMethod.TurnOff : Force ? VmStopMethod.ForcedShutdown : VmStopMethod.Shutdown;
        var (action, status) = method switch
        {
            VmStopMethod.TurnOff => ("Turn VM off (kill the hypervisor)", "Killing the hypervisor"),
            VmStopMethod.ForcedShutdown => ("Shut VM down, killing its programs", "Shutting the guest down, killing its programs"),
            _ => ("Shut VM down", "Shutting the guest down"),
        };
        if (!ShouldProcess(name, action))
        {
            return;
        }

        var options = new VmStopOptions { Method = method };
        options = options with { Timeout = TimeoutOr(options.Timeout) };
        RunOperation(AsJob, name, $"Stopping VM '{name}'", status, async cancellationToken =>
            PassThruOutput(await Manager.StopAsync(name, options, cancellationToken).ConfigureAwait(false)));
    }
}
