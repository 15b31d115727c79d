using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of Mount-/Dismount-VmVolume: one VM (by name or object) and one volume, with -PassThru.</summary>
public abstract class VolumeAttachmentCmdlet : VolumeCmdlet
{
    protected const string NameSet = "Name";
    protected const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string VmName { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo? InputObject { get; set; }

    /// <summary>The volume.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Volume")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var vm = InputObject?.Name ?? VmName;
        if (!ShouldProcess(vm, Action))
        {
            return;
        }

        try
        {
            var volume = Await(cancellationToken => Change(vm, cancellationToken));
            if (PassThru)
            {
                WriteVolume(volume);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    /// <summary>What ShouldProcess asks about.</summary>
    protected abstract string Action { get; }

    protected abstract Task<VolumeInfo> Change(string vm, CancellationToken cancellationToken);
}
