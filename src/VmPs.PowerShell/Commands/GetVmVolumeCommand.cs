using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Gets volumes, all of them or those named (wildcards allowed), or those attached to a VM (-VmName).</summary>
[Cmdlet(VerbsCommon.Get, "VmVolume")]
[OutputType(typeof(VolumeInfo))]
public sealed class GetVmVolumeCommand : VolumeCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [Alias("Volume")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only the volumes attached to this VM (wildcards allowed).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string? VmName { get; set; }

    protected override void ProcessRecord()
    {
        var onVm = VmName is null ? null : new WildcardPattern(VmName, WildcardOptions.IgnoreCase);
        foreach (var pattern in Name ?? ["*"])
        {
            try
            {
                var volumes = WildcardPattern.ContainsWildcardCharacters(pattern)
                    ? MatchingVolumes(pattern)
                    : [Await(cancellationToken => Manager.GetAsync(pattern, cancellationToken))];
                foreach (var volume in volumes.Where(volume => onVm is null || volume.AttachedTo.Any(onVm.IsMatch)))
                {
                    WriteVolume(volume);
                }
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
