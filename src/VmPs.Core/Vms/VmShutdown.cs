using VmPs.Core.Agent;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;

namespace VmPs.Core.Vms;

/// <summary>
/// Stop-Vm, as Hyper-V's Stop-VM: a shutdown asks the guest agent to shut down (the guest's programs get
/// SIGTERM and a grace period), then presses the power button; a forced shutdown asks the agent to kill the
/// guest's programs at once and power off; either kills the hypervisor once the timeout has passed. TurnOff
/// kills it at once. The VM ends Stopped, with the entrypoint's exit code when the guest reported one. A VM
/// that is not running keeps its state, and what its hypervisor left behind when it died (its TAP) goes.
/// </summary>
internal sealed class VmShutdown
{
    /// <summary>Crash points (see CrashPoint): the VM recorded Stopping; its hypervisor killed; its TAP unplugged.</summary>
    public const string CrashAfterStopping = "Stop-Vm: recorded Stopping";
    public const string CrashAfterKill = "Stop-Vm: hypervisor killed";
    public const string CrashAfterUnplug = "Stop-Vm: adapter unplugged";

    private static readonly TimeSpan AgentConnectLimit = TimeSpan.FromSeconds(5);

    private readonly VmStore vms;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;

    private readonly VmNetworking networking;

    public VmShutdown(VmStore vms, VmReconciler reconciler, HostContext host, VmNetworking networking)
    {
        this.networking = networking;
        this.vms = vms;
        this.reconciler = reconciler;
        this.host = host;
    }

    public async Task<VmRecord> StopAsync(VmRecord vm, VmStopOptions options, CancellationToken cancellationToken)
    {
        if (!vm.State.IsActive())
        {
            await networking.UnplugAsync(vm.Id, cancellationToken).ConfigureAwait(false);
            return vm;
        }

        if (vm.Instance is not { } instance)
        {
            throw VmErrors.StartingElsewhere(vm.Name);
        }

        // The session is recorded so that, should it die mid-stop, a later read finishes the stop (VmReconciler).
        var session = ProcessProbe.Current();
        await vms.UpdateAsync(vm.Id, current => current.Unchanged(vm) ? current with { State = VmState.Stopping, Session = session } : current, cancellationToken)
            .ConfigureAwait(false);
        CrashPoint.Reach(CrashAfterStopping);
        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        if (options.Method != VmStopMethod.TurnOff)
        {
            if (vm.State == VmState.Paused)
            {
                // A paused guest cannot shut itself down.
                await driver.ResumeAsync(instance, cancellationToken).ConfigureAwait(false);
            }

            await ShutDownGuestAsync(driver, instance, options.Method == VmStopMethod.ForcedShutdown, options.Timeout, cancellationToken).ConfigureAwait(false);
        }

        await driver.KillAsync(instance, CancellationToken.None).ConfigureAwait(false);
        CrashPoint.Reach(CrashAfterKill);

        await networking.UnplugAsync(vm.Id, CancellationToken.None).ConfigureAwait(false);
        CrashPoint.Reach(CrashAfterUnplug);
        var files = reconciler.Files(vm);
        files.DeleteRuntimeFiles();
        var exit = GuestExit.Read(files, vm.Hypervisor);
        var stopped = await vms.UpdateAsync(
            vm.Id,
            current => current.Instance == instance ? current.Stopped(exit.PoweredOff ? exit.ExitCode : null, detail: null) : current,
            CancellationToken.None).ConfigureAwait(false);
        return stopped ?? vm.Stopped(exit.ExitCode, detail: null);
    }

    /// <summary>
    /// Half the time for the agent's shutdown, the rest for the ACPI power button. A forced shutdown has no use for
    /// the button (the guest would wait on its programs again): it waits the whole time for the agent's.
    /// </summary>
    private static async Task ShutDownGuestAsync(IHypervisorDriver driver, HypervisorInstance instance, bool force, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        if (await TryAgentShutdownAsync(instance, force, cancellationToken).ConfigureAwait(false)
            && await ProcessProbe.WaitForExitAsync(instance.Process, force ? timeout : timeout / 2, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (force || !ProcessProbe.IsRunning(instance.Process))
        {
            return;
        }

        try
        {
            await driver.PressPowerButtonAsync(instance, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
            // The control socket is gone or refused: the kill that follows still stops the VM.
            return;
        }

        var remaining = deadline - DateTime.UtcNow;
        if (remaining > TimeSpan.Zero)
        {
            await ProcessProbe.WaitForExitAsync(instance.Process, remaining, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>False when the agent cannot be reached or refuses; the power button is next.</summary>
    private static async Task<bool> TryAgentShutdownAsync(HypervisorInstance instance, bool force, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(AgentConnectLimit);
        try
        {
            await using var client = await AgentClient.ConnectAsync(AgentConnectors.For(instance.Agent), limit.Token).ConfigureAwait(false);
            await client.ShutdownAsync(reboot: false, force, limit.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is VmPsException or IOException or System.Net.Sockets.SocketException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
