using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Storage;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Copies a volume under a new name, copy-on-write where the host allows: a reflink on file systems that share
/// blocks, else both volumes become qcow2 files over a frozen, shared base. Only where neither works is the data
/// copied in full, and a warning says so. The source must not be in use by a running VM that writes it.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class CopyVmVolumeCommand : VolumeCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [Alias("Volume")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VolumeInfo? InputObject { get; set; }

    /// <summary>The new volume's name.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var source = InputObject?.Name ?? Name;
        if (!ShouldProcess(source, $"Copy volume to '{Destination}'"))
        {
            return;
        }

        try
        {
            var result = AwaitWithStatus($"Copying volume '{source}'", $"to '{Destination}'", cancellationToken => Manager.CopyAsync(source, Destination, cancellationToken));
            WriteVerbose(result.Method switch
            {
                CopyMethod.Reflink => $"'{Destination}' is a reflink of '{source}': they share blocks until either writes.",
                CopyMethod.BackingFile => $"'{source}' and '{Destination}' are qcow2 files over a shared frozen base: {result.Volume.BackingFile}.",
                _ => $"'{Destination}' is a full copy of '{source}'.",
            });
            if (result.Method == CopyMethod.FullCopy)
            {
                WriteWarning($"Volume '{source}' was copied in full: this host can neither reflink it nor make a qcow2 copy (install qemu-utils for copy-on-write copies).");
            }

            if (PassThru)
            {
                WriteVolume(result.Volume);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
