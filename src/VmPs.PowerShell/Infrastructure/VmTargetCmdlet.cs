using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// A cmdlet acting on existing VMs chosen by -Name (wildcards allowed; also bound from the pipeline: names, VM objects,
/// objects with a VmName property, VM rows) or by VM objects given as -InputObject.
/// </summary>
public abstract class VmTargetCmdlet : VmCmdlet
{
    protected const string NameSet = "Name";

    protected const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("VmName")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo[] InputObject { get; set; } = [];

    protected override void ProcessRecord() =>
        ForEachTarget(ParameterSetName == InputObjectSet ? InputObject : null, Name, ProcessVm);

    /// <summary>Acts on one VM; a <see cref="Core.VmPsException"/> becomes a non-terminating error for it.</summary>
    protected abstract void ProcessVm(string name);
}
