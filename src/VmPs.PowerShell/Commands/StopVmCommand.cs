using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Shuts VMs down: the guest agent first, then the power button, then a kill after -TimeoutSec.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class StopVmCommand : VmTargetCmdlet
{
    /// <summary>Kill the hypervisor at once instead of shutting the guest down.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>How long the graceful shutdown may take before the hypervisor is killed.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, Force ? "Stop VM (kill the hypervisor)" : "Stop VM"))
        {
            return;
        }

        var defaults = new VmStopOptions();
        var options = defaults with
        {
            Force = Force,
            Timeout = Seconds(TimeoutSec) ?? defaults.Timeout,
        };
        var vm = AwaitWithStatus($"Stopping VM '{name}'", Force ? "Killing the hypervisor" : "Shutting the guest down", cancellationToken => Manager.StopAsync(name, options, cancellationToken));
        if (PassThru)
        {
            WriteVm(vm);
        }
    }
}
