using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Grows the VM's own writable disk and the ext4 filesystem on it (e2fsck, then resize2fs on the file). The VM must
/// be stopped; the guest sees the room at its next boot. Disks only grow. -AsJob resizes in a job.
/// </summary>
[Cmdlet(VerbsCommon.Resize, "VmDisk", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class ResizeVmDiskCommand : VmTargetCmdlet
{
    private const long BytesPerGiB = 1L << 30;

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateRange(1, 8192)]
    public int SizeGB { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Resize in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, $"Grow the VM's disk to {SizeGB} GB"))
        {
            return;
        }

        var sizeGB = SizeGB;
        RunOperation(AsJob, name, $"Resizing the disk of VM '{name}'", $"to {sizeGB} GB", async cancellationToken =>
        {
            var vm = await Manager.ResizeDiskAsync(name, sizeGB, cancellationToken).ConfigureAwait(false);
            return PassThru ? PSTypeNames.Tag(vm, PSTypeNames.Vm) : null;
        });
    }
}
