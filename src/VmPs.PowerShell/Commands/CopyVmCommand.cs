using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Forks a VM as it is now into a new VM named -Destination: a checkpoint is taken (a running VM's vCPUs stand still
/// meanwhile, then run on), the new VM is made from it and the checkpoint removed. The copy of a running VM is Saved
/// in that moment's memory; Start-Vm resumes it with its own name, machine-id, MAC, address and RNG seed. -AsJob copies
/// in a job.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class CopyVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Copy in a background job and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessVm(string name)
    {
        var vm = Await(cancellationToken => Manager.GetAsync(name, cancellationToken));
        Await(cancellationToken => Manager.ValidateCopyAsync(vm.Name, Destination, cancellationToken));
        if (!ShouldProcess(vm.Name, $"Copy VM to '{Destination}'"))
        {
            return;
        }

        var destination = Destination;
        RunOperation(AsJob, vm.Name, $"Copying VM '{vm.Name}'", $"Forking it as '{destination}'", async cancellationToken =>
            PSTypeNames.Tag(await Manager.CopyAsync(vm.Name, destination, cancellationToken).ConfigureAwait(false), PSTypeNames.Vm));
    }
}
