using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Shuts VMs down: the guest agent first, then the power button, then a kill after -TimeoutSec.</summary>
[Cmdlet(VerbsLifecycle.Stop, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class StopVmCommand : VmStateChangeCmdlet
{
    /// <summary>Kill the hypervisor at once instead of shutting the guest down.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, Force ? "Stop VM (kill the hypervisor)" : "Stop VM"))
        {
            return;
        }

        var options = new VmStopOptions { Force = Force };
        options = options with { Timeout = TimeoutOr(options.Timeout) };
        var status = Force ? "Killing the hypervisor" : "Shutting the guest down";
        WritePassThru(AwaitWithStatus($"Stopping VM '{name}'", status, cancellationToken => Manager.StopAsync(name, options, cancellationToken)));
    }
}
