using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Returns a VM to a checkpoint, as Hyper-V's Restore-VMSnapshot: a VM that runs is turned off and its current state is
/// lost; the disk is the checkpoint's, and with memory the VM is Saved (Start-Vm resumes the checkpoint), else Stopped.
/// -AsJob restores in a job.
/// </summary>
[Cmdlet(VerbsData.Restore, "VmCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class RestoreVmCheckpointCommand : VmCheckpointCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Restore in a background job (one child job per checkpoint) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void Process(VmCheckpointInfo checkpoint)
    {
        if (!ShouldProcess(checkpoint.VmName, $"Restore checkpoint '{checkpoint.Name}' (the VM's current state is lost)", Force))
        {
            return;
        }

        RunOperation(AsJob, checkpoint.VmName, $"Restoring VM '{checkpoint.VmName}'", $"Restoring checkpoint '{checkpoint.Name}'", async cancellationToken =>
        {
            var vm = await Manager.RestoreCheckpointAsync(checkpoint.VmName, checkpoint.Name, cancellationToken).ConfigureAwait(false);
            return PassThru ? PSTypeNames.Tag(vm, PSTypeNames.Vm) : null;
        });
    }
}
