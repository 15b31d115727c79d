using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Grows volumes, and the ext4 filesystem on them (resize2fs). Volumes only grow; one attached to a running VM is
/// refused (stop the VM first). -AsJob resizes in a job.
/// </summary>
[Cmdlet(VerbsCommon.Resize, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo), typeof(Job))]
public sealed class ResizeVmVolumeCommand : VolumeCmdlet
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

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, 65536)]
    public int SizeGB { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Resize in a background job (one child job per volume) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in TargetNames(ParameterSetName == InputObjectSet ? InputObject : null, Name))
        {
            if (!ShouldProcess(name, $"Grow volume to {SizeGB} GB"))
            {
                continue;
            }

            try
            {
                var sizeBytes = SizeGB * BytesPerGiB;
                RunOperation(AsJob, name, $"Resizing volume '{name}'", $"to {SizeGB} GB", async cancellationToken =>
                {
                    var volume = await Manager.ResizeAsync(name, sizeBytes, cancellationToken).ConfigureAwait(false);
                    return PassThru ? PSTypeNames.Tag(volume, PSTypeNames.VmVolume) : null;
                });
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
