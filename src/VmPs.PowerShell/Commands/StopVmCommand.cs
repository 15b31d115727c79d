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
public sealed class StopVmCommand : VmShutdownCmdlet
{
    protected override void ProcessVm(string name)
    {
        var action = Method switch
        {
            VmStopMethod.TurnOff => "Turn VM off (kill the hypervisor)",
            VmStopMethod.ForcedShutdown => "Shut VM down, killing its programs",
            _ => "Shut VM down",
        };
        if (!ShouldProcess(name, action))
        {
            return;
        }

        var options = StopOptions();
        RunOperation(AsJob, name, $"Stopping VM '{name}'", ShutdownStatus, async cancellationToken =>
            PassThruOutput(await Manager.StopAsync(name, options, cancellationToken).ConfigureAwait(false)));
    }
}
