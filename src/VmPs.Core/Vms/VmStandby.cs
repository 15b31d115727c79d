using VmPs.Core.Agent;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.State;

namespace VmPs.Core.Vms;

/// <summary>
/// Suspend-Vm, Resume-Vm and Save-Vm: a VM's vCPUs stopped and continued, and its memory and device state written
/// to its directory with the hypervisor ended (standby). Start-Vm restores a saved VM (<see cref="VmBoot"/>).
/// Each fails without changing the VM: a failed save leaves it running (or paused) as it was.
/// </summary>
internal sealed class VmStandby
{
    /// <summary>How long the agent may take to answer after a resume (or a resize) before the guest is left as it is.</summary>
    private static readonly TimeSpan AgentLimit = TimeSpan.FromSeconds(10);

    private readonly VmStore vms;
    private readonly VmReconciler reconciler;
    private readonly HostContext host;
    private readonly VmNetworking networking;

    public VmStandby(VmStore vms, VmReconciler reconciler, HostContext host, VmNetworking networking)
    {
        this.vms = vms;
        this.reconciler = reconciler;
        this.host = host;
        this.networking = networking;
    }

    public async Task<VmRecord> SuspendAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        var instance = ActiveInstance(vm);
        if (vm.State == VmState.Paused)
        {
            return vm;
        }

        var driver = await DriverAsync(vm, HypervisorFeatures.Pause, cancellationToken).ConfigureAwait(false);
        await driver.PauseAsync(instance, cancellationToken).ConfigureAwait(false);
        return await RecordAsync(vm, instance, VmState.Paused, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Continues the vCPUs, then sets the guest clock, which stood still while the VM was paused.</summary>
    public async Task<VmRecord> ResumeAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        VmStateRules.RequirePaused(vm.Name, vm.State);
        var instance = ActiveInstance(vm);

        var driver = await DriverAsync(vm, HypervisorFeatures.Pause, cancellationToken).ConfigureAwait(false);
        await driver.ResumeAsync(instance, cancellationToken).ConfigureAwait(false);
        var resumed = await RecordAsync(vm, instance, VmState.Running, cancellationToken).ConfigureAwait(false);
        await TrySyncClockAsync(instance.Agent, cancellationToken).ConfigureAwait(false);
        return resumed;
    }

    /// <summary>
    /// Writes the state into saved.partial, seals it with a manifest, renames it to saved (so a saved directory is
    /// always whole), then ends the hypervisor and records Saved. Until the rename any failure resumes a VM that
    /// was running and removes the partial state; after it, a killed session leaves a VM the reconciler finds Saved.
    /// </summary>
    public async Task<VmRecord> SaveAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        var instance = ActiveInstance(vm);
        if ((await vms.SharesAsync(vm.Id, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            throw VmErrors.SharesNotSavable(vm.Name, "Save-Vm");
        }

        var driver = await DriverAsync(vm, HypervisorFeatures.Snapshot, cancellationToken).ConfigureAwait(false);
        var files = reconciler.Files(vm);
        var launchSpec = File.Exists(files.LaunchSpec)
            ? await File.ReadAllTextAsync(files.LaunchSpec, cancellationToken).ConfigureAwait(false)
            : throw new VmPsException(VmPsErrorIds.VmSaveFailed, VmPsErrorKind.InvalidOperation, $"VM '{vm.Name}' was started by an older VmPs that did not record its launch settings; restart it before saving it.", vm.Name);
        VmDirectorySweep.DeleteDirectory(files.SavedStatePartial);
        PrivateFiles.CreateDirectory(files.SavedStatePartial);
        try
        {
            await driver.SaveStateAsync(instance, files.SavedStatePartial, cancellationToken).ConfigureAwait(false);
            await VmSavedState.SealAsync(files.SavedStatePartial, vm.Hypervisor, launchSpec, cancellationToken).ConfigureAwait(false);
            VmDirectorySweep.DeleteDirectory(files.SavedState);
            Directory.Move(files.SavedStatePartial, files.SavedState);
        }
        catch (Exception failure)
        {
            VmDirectorySweep.DeleteDirectory(files.SavedStatePartial);
            if (vm.State == VmState.Running)
            {
                await driver.ResumeAsync(instance, CancellationToken.None).ConfigureAwait(false);
            }

            if (failure is OperationCanceledException)
            {
                throw;
            }

            throw new VmPsException(
                VmPsErrorIds.VmSaveFailed,
                VmPsErrorKind.InvalidOperation,
                $"VM '{vm.Name}' could not be saved, and is {vm.State.ToString().ToLowerInvariant()} as before: {failure.Message}",
                vm.Name,
                failure);
        }

        await driver.KillAsync(instance, CancellationToken.None).ConfigureAwait(false);
        await networking.UnplugAsync(vm.Id, CancellationToken.None).ConfigureAwait(false);
        files.DeleteRuntimeFiles();
        var saved = await vms.UpdateAsync(vm.Id, current => current.Instance == instance ? current.Saved() : current, CancellationToken.None)
            .ConfigureAwait(false);
        return saved ?? throw VmErrors.NotFound(vm.Name);
    }

    /// <summary>
    /// Sets the guest clock to the host's after its vCPUs stood still. A guest whose agent does not answer soon
    /// (a VM started with -NoWait that is still booting) keeps its clock: its init sets it when the agent starts.
    /// </summary>
    public static Task TrySyncClockAsync(AgentEndpoint endpoint, CancellationToken cancellationToken) =>
        TryWithAgentAsync(endpoint, (agent, token) => agent.SyncClockAsync(token), cancellationToken);

    /// <summary>Sends one request to the agent if it answers within <see cref="AgentLimit"/>; a guest without one goes without.</summary>
    public static async Task TryWithAgentAsync(AgentEndpoint endpoint, Func<AgentClient, CancellationToken, Task> request, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(AgentLimit);
        try
        {
            await using var agent = await AgentClient.ConnectAsync(AgentConnectors.For(endpoint), limit.Token).ConfigureAwait(false);
            await request(agent, limit.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is VmPsException or IOException or System.Net.Sockets.SocketException
            || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
        }
    }

    /// <summary>The hypervisor of a running or paused VM.</summary>
    private static HypervisorInstance ActiveInstance(VmRecord vm)
    {
        VmStateRules.RequireRunningOrPaused(vm.Name, vm.State);
        return vm.Instance ?? throw VmErrors.NotRunning(vm.Name, vm.State);
    }

    private async Task<IHypervisorDriver> DriverAsync(VmRecord vm, HypervisorFeatures feature, CancellationToken cancellationToken)
    {
        var driver = await host.DriverAsync(vm, cancellationToken).ConfigureAwait(false);
        driver.Capabilities.Require(feature, vm.Name);
        return driver;
    }

    /// <summary>Records the new state unless another session changed the VM meanwhile (its change is kept and returned).</summary>
    private async Task<VmRecord> RecordAsync(VmRecord vm, HypervisorInstance instance, VmState state, CancellationToken cancellationToken) =>
        await vms.UpdateAsync(vm.Id, current => current.Instance == instance && current.State.IsActive() ? current with { State = state } : current, cancellationToken)
            .ConfigureAwait(false) ?? throw VmErrors.NotFound(vm.Name);
}
