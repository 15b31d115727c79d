using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes volumes and their files. An attached volume is refused unless -Force, which first detaches it from the
/// stopped VMs that have it (a running VM keeps it: stop the VM first).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmVolumeCommand : VolumeCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Volume")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VolumeInfo[] InputObject { get; set; } = [];

    /// <summary>Remove without asking, detaching the volume from the stopped VMs that have it first.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in TargetNames(ParameterSetName == InputObjectSet ? InputObject : null, Name))
        {
            if (!ShouldProcess(name, Force ? "Remove volume (detaching it from stopped VMs)" : "Remove volume", Force))
            {
                continue;
            }

            try
            {
                Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
