using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Copies a volume under a new name, copy-on-write where the host allows: a reflink on file systems that share
/// blocks, else both volumes become qcow2 files over a frozen, shared base. Only where neither works is the data
/// copied in full, and a warning says so. The source must not be in use by a running VM that writes it. -AsJob copies
/// in a job.
/// </summary>
[Cmdlet(VerbsCommon.Copy, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo), typeof(Job))]
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

    /// <summary>Copy in a background job and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        var source = InputObject?.Name ?? Name;
        if (!ShouldProcess(source, $"Copy volume to '{Destination}'"))
        {
            return;
        }

        try
        {
            var destination = Destination;
            var activity = $"Copying volume '{source}'";
            RunOperation(AsJob, source, activity, async (report, cancellationToken) =>
            {
                report.Report(new VmProgress(activity, $"to '{destination}'", -1));
                var result = await Manager.CopyAsync(source, destination, cancellationToken).ConfigureAwait(false);
                report.Verbose(result.Method switch
                {
                    CopyMethod.Reflink => $"'{destination}' is a reflink of '{source}': they share blocks until either writes.",
                    CopyMethod.BackingFile => $"'{source}' and '{destination}' are qcow2 files over a shared frozen base: {result.Volume.BackingFile}.",
                    _ => $"'{destination}' is a full copy of '{source}'.",
                });
                if (result.Method == CopyMethod.FullCopy)
                {
                    report.Warn($"Volume '{source}' was copied in full: this host can neither reflink it nor make a qcow2 copy (install qemu-utils for copy-on-write copies).");
                }

                return PassThru ? PSTypeNames.Tag(result.Volume, PSTypeNames.VmVolume) : null;
            });
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
