using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Makes a named checkpoint of VMs, as Hyper-V's Checkpoint-VM: the disk, and the memory of a VM that runs (its vCPUs
/// stand still meanwhile and then run on). -AsJob checkpoints them in a job.
/// </summary>
[Cmdlet(VerbsData.Checkpoint, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmCheckpointInfo), typeof(Job))]
public sealed class CheckpointVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("SnapshotName")]
    [ValidateNotNullOrEmpty]
    public string CheckpointName { get; set; } = string.Empty;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Checkpoint in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessVm(string name)
    {
        VmStateRules.RequireValidCheckpointName(CheckpointName);
        if (!ShouldProcess(name, $"Create checkpoint '{CheckpointName}'"))
        {
            return;
        }

        var checkpointName = CheckpointName;
        RunOperation(AsJob, name, $"Checkpointing VM '{name}'", "Copying the disk and memory", async cancellationToken =>
        {
            var checkpoint = await Manager.CheckpointAsync(name, checkpointName, cancellationToken).ConfigureAwait(false);
            return PassThru ? PSTypeNames.Tag(checkpoint, PSTypeNames.VmCheckpoint) : null;
        });
    }
}
