using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Pauses VMs as Hyper-V's Suspend-VM does: the vCPUs stop, memory and devices stay (State Paused).</summary>
[Cmdlet(VerbsLifecycle.Suspend, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class SuspendVmCommand : VmPassThruCmdlet
{
    protected override void ProcessVm(string name)
    {
        var vm = Await(cancellationToken => Manager.GetAsync(name, cancellationToken));
        VmStateRules.RequireRunningOrPaused(vm.Name, vm.State);
        if (ShouldProcess(name, "Pause VM (stop its vCPUs)"))
        {
            WritePassThru(AwaitWithStatus($"Pausing VM '{name}'", "Stopping the vCPUs", cancellationToken => Manager.SuspendAsync(name, cancellationToken)));
        }
    }
}
