using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Restore-VmCheckpoint and Remove-VmCheckpoint: one checkpoint by -VmName and -Name, or checkpoint objects from the
/// pipeline (Get-VmCheckpoint). Asks first (ConfirmImpact High); -Force does not ask.
/// </summary>
public abstract class VmCheckpointCmdlet : VmCmdlet
{
    protected const string NameSet = "Name";
    protected const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string VmName { get; set; } = string.Empty;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmCheckpointInfo[] InputObject { get; set; } = [];

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var targets = ParameterSetName == InputObjectSet ? InputObject.Select(checkpoint => (checkpoint.VmName, checkpoint.Name)) : [(VmName, Name)];
        foreach (var (vm, checkpoint) in targets)
        {
            try
            {
                // Looked up first, so an unknown VM or checkpoint fails under -WhatIf too.
                var checkpoints = Await(cancellationToken => Manager.GetCheckpointsAsync(vm, cancellationToken));
                Process(VmStateRules.RequireCheckpoint(checkpoints, vm, checkpoint));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }

    protected abstract void Process(VmCheckpointInfo checkpoint);
}
