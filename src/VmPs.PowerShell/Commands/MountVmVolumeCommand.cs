using System.Management.Automation;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Attaches a volume to a VM at a guest path; the guest mounts it there at its next boot. A writable volume is
/// attached to one VM at a time, a read-only one (-ReadOnly) to any number.
/// </summary>
[Cmdlet(VerbsData.Mount, "VmVolume", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VolumeInfo))]
public sealed class MountVmVolumeCommand : VolumeAttachmentCmdlet
{
    /// <summary>Where the guest mounts it: an absolute path outside /proc, /sys and /dev.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    public SwitchParameter ReadOnly { get; set; }

    protected override string Action => $"Attach volume '{Name}' at {Path}{(ReadOnly ? " (read-only)" : "")}";

    protected override Task<VolumeInfo> Change(string vm, CancellationToken cancellationToken) =>
        Manager.MountAsync(vm, new VolumeAttachOptions(Name, Path, ReadOnly), cancellationToken);
}
