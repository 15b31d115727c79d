using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Boots VMs and, unless -NoWait, waits until their guest agent answers.</summary>
[Cmdlet(VerbsLifecycle.Start, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class StartVmCommand : VmStateChangeCmdlet
{
    /// <summary>Return as soon as the hypervisor runs, without waiting for the guest agent.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessVm(string name)
    {
        if (!ShouldProcess(name, "Start VM"))
        {
            return;
        }

        var options = new VmStartOptions { WaitForAgent = !NoWait };
        options = options with { Timeout = TimeoutOr(options.Timeout) };
        WritePassThru(AwaitWithProgress($"Starting VM '{name}'", (progress, cancellationToken) => Manager.StartAsync(name, options, progress, cancellationToken)));
    }
}
