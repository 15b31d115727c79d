using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Boots VMs, or resumes Saved ones from their saved state, and unless -NoWait waits until their guest agent answers;
/// -Force discards a saved state and boots afresh; -AsJob starts them in a job.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class StartVmCommand : VmStateChangeCmdlet
{
    /// <summary>Return as soon as the hypervisor runs, without waiting for the guest agent.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>For a Saved VM: delete its saved state (what was in memory is lost, the disk is kept) and boot it afresh.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, Force ? "Start VM, discarding any saved state" : "Start VM"))
        {
            return;
        }

        var options = new VmStartOptions { WaitForAgent = !NoWait, DiscardSavedState = Force };
        options = options with { Timeout = TimeoutOr(options.Timeout) };
        RunOperation(AsJob, name, $"Starting VM '{name}'", async (progress, cancellationToken) =>
            BootedOutput(await Manager.StartAsync(name, options, progress, cancellationToken).ConfigureAwait(false), progress));
    }
}
