using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Puts VMs in standby as Hyper-V's Save-VM does: memory and device state go to a file in the VM's directory and the
/// hypervisor ends (State Saved); Start-Vm resumes the VM from there. -AsJob saves in a job.
/// </summary>
[Cmdlet(VerbsData.Save, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class SaveVmCommand : VmPassThruCmdlet
{
    /// <summary>Save in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessVm(string name)
    {
        var vm = Await(cancellationToken => Manager.GetAsync(name, cancellationToken));
        VmStateRules.RequireRunningOrPaused(vm.Name, vm.State);
        if (!ShouldProcess(name, "Save VM (memory to disk, hypervisor ended)"))
        {
            return;
        }

        RunOperation(AsJob, name, $"Saving VM '{name}'", async (progress, cancellationToken) =>
        {
            progress.Report(new VmProgress($"Saving VM '{name}'", "Writing memory and device state", 10));
            var vm = await Manager.SaveAsync(name, cancellationToken).ConfigureAwait(false);
            return PassThruOutput(vm);
        });
    }
}
