using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Creates a volume: a sparse disk that outlives VMs, attached with New-Vm -Volume or Mount-VmVolume. An Ext4 or
/// Qcow2 volume may start with the content of a directory or a .tar/.tar.gz archive (-FromPath).
/// </summary>
[Cmdlet(VerbsCommon.New, "VmVolume", SupportsShouldProcess = true)]
[OutputType(typeof(VolumeInfo), typeof(Job))]
public sealed class NewVmVolumeCommand : VolumeCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Volume")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65536)]
    public int SizeGB { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public VolumeFormat Format { get; set; } = VolumeFormat.Ext4;

    /// <summary>A directory, or a .tar, .tar.gz or .tgz archive, whose content the volume starts with.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? FromPath { get; set; }

    /// <summary>The VmPs user who owns it (New-VmUser); without it, the administrator.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? Owner { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        string? owner;
        try
        {
            owner = ResolveOwner(Owner);
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
            return;
        }

        var options = new VolumeCreateOptions
        {
            Name = Name,
            Owner = owner,
            SizeBytes = SizeGB * BytesPerGiB,
            Format = Format,

            // Relative paths are relative to the current PowerShell location, not the process directory.
            FromPath = FromPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(FromPath),
        };
        var description = $"{SizeGB} GB {Format}" + (options.FromPath is { } source ? $" from {source}" : "") + (owner is null ? "" : $", owned by {owner}");
        if (!ShouldProcess($"{Name} ({description})", "Create volume"))
        {
            return;
        }

        try
        {
            RunOperation(AsJob, Name, $"Creating volume '{Name}'", async (progress, cancellationToken) =>
            {
                progress.Report(new VmProgress($"Creating volume '{Name}'", description, -1));
                return PSTypeNames.Tag(await Manager.CreateAsync(options, cancellationToken).ConfigureAwait(false), PSTypeNames.VmVolume);
            });
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
