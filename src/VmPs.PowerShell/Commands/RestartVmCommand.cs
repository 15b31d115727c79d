using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Restarts running or paused VMs: shuts each down as Stop-Vm does (-Force and -TurnOff as there; -TurnOff is the hard
/// reset of Hyper-V's Restart-VM) and boots it afresh in a new hypervisor as Start-Vm does, waiting for its agent
/// unless -NoWait. Any other state is VmNotRunning, under -WhatIf too. -AsJob restarts them in a job.
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class RestartVmCommand : VmShutdownCmdlet
{
    /// <summary>Return as soon as the new hypervisor runs, without waiting for the guest agent.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessVm(string name)
    {
        var vm = Await(cancellationToken => Manager.GetAsync(name, cancellationToken));
        VmStateRules.RequireRunningOrPaused(vm.Name, vm.State);
        var action = Method switch
        {
            VmStopMethod.TurnOff => "Restart VM (kill the hypervisor, boot afresh)",
            VmStopMethod.ForcedShutdown => "Restart VM (shut down killing its programs, boot afresh)",
            _ => "Restart VM (shut down, boot afresh)",
        };
        if (!ShouldProcess(name, action))
        {
            return;
        }

        var stopOptions = StopOptions();
        var startOptions = new VmStartOptions { WaitForAgent = !NoWait };
        startOptions = startOptions with { Timeout = TimeoutOr(startOptions.Timeout) };
        var activity = $"Restarting VM '{name}'";
        RunOperation(AsJob, name, activity, async (progress, cancellationToken) =>
        {
            progress.Report(new VmProgress(activity, ShutdownStatus, -1));
            return BootedOutput(await Manager.RestartAsync(name, stopOptions, startOptions, progress, cancellationToken).ConfigureAwait(false), progress);
        });
    }
}
