using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Continues paused VMs as Hyper-V's Resume-VM does, then sets the guest clock to the host's.</summary>
[Cmdlet(VerbsLifecycle.Resume, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class ResumeVmCommand : VmPassThruCmdlet
{
    protected override void ProcessVm(string name)
    {
        var vm = Await(cancellationToken => Manager.GetAsync(name, cancellationToken));
        VmStateRules.RequirePaused(vm.Name, vm.State);
        if (ShouldProcess(name, "Resume VM"))
        {
            WritePassThru(AwaitWithStatus($"Resuming VM '{name}'", "Continuing the vCPUs", cancellationToken => Manager.ResumeAsync(name, cancellationToken)));
        }
    }
}
