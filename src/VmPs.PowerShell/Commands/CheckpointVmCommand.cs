using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Makes a named checkpoint of VMs, as Hyper-V's Checkpoint-VM: the disk, and the memory of a VM that runs (its vCPUs
/// stand still meanwhile and then run on).
/// </summary>
[Cmdlet(VerbsData.Checkpoint, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmCheckpointInfo))]
public sealed class CheckpointVmCommand : VmTargetCmdlet
{
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("SnapshotName")]
    [ValidateNotNullOrEmpty]
    public string CheckpointName { get; set; } = string.Empty;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessVm(string name)
    {
        VmStateRules.RequireValidCheckpointName(CheckpointName);
        if (!ShouldProcess(name, $"Create checkpoint '{CheckpointName}'"))
        {
            return;
        }

        var checkpoint = AwaitWithStatus($"Checkpointing VM '{name}'", "Copying the disk and memory", cancellationToken => Manager.CheckpointAsync(name, CheckpointName, cancellationToken));
        if (PassThru)
        {
            WriteTypedObject(checkpoint, PSTypeNames.VmCheckpoint);
        }
    }
}
