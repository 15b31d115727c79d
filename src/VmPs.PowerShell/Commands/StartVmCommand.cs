using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Boots VMs and, unless -NoWait, waits until their guest agent answers.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class StartVmCommand : VmTargetCmdlet
{
    /// <summary>Return as soon as the hypervisor runs, without waiting for the guest agent.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>How long to wait for the guest agent.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, "Start VM"))
        {
            return;
        }

        var defaults = new VmStartOptions();
        var options = defaults with
        {
            WaitForAgent = !NoWait,
            Timeout = Seconds(TimeoutSec) ?? defaults.Timeout,
        };
        var vm = AwaitWithProgress($"Starting VM '{name}'", (progress, cancellationToken) => Manager.StartAsync(name, options, progress, cancellationToken));
        if (PassThru)
        {
            WriteVm(vm);
        }
    }
}
