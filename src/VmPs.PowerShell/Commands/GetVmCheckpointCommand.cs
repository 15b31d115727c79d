using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Gets the checkpoints of VMs given by name (wildcards allowed) or as objects, as Hyper-V's Get-VMSnapshot.</summary>
[Cmdlet(VerbsCommon.Get, "VmCheckpoint", DefaultParameterSetName = VmNameSet)]
[OutputType(typeof(VmCheckpointInfo))]
public sealed class GetVmCheckpointCommand : VmCmdlet
{
    private const string VmNameSet = "VmName";
    private const string VmSet = "Vm";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VmNameSet, ValueFromPipeline = true)]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VmName { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = VmSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo[] Vm { get; set; } = [];

    /// <summary>Checkpoint names; wildcards allowed. All of them when omitted.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Name { get; set; } = ["*"];

    protected override void ProcessRecord() =>
        ForEachTarget(ParameterSetName == VmSet ? Vm : null, VmName, vm =>
        {
            var checkpoints = Await(cancellationToken => Manager.GetCheckpointsAsync(vm, cancellationToken));
            foreach (var checkpoint in checkpoints.Where(checkpoint => Name.Any(pattern => NamePatterns.Matching([checkpoint], c => c.Name, pattern).Any())))
            {
                WriteTypedObject(checkpoint, PSTypeNames.VmCheckpoint);
            }
        });
}
