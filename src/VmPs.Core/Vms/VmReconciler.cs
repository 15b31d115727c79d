using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>
/// Brings a row in line with the live truth. A VM recorded as active whose hypervisor process (PID plus start time)
/// is gone becomes Stopped when the guest powered off, else Crashed with the console tail; its TAP, which outlives the
/// hypervisor, stays (reads leave a VM that ended on its own alone), and goes with the VM's next Stop-Vm, Remove-Vm or
/// Repair-VmNetwork (Start-Vm plugs it again). A VM held in Starting or Stopping by a session that died is settled
/// here: the hypervisor that session may have left (recorded in the row, or only in the launcher's pid file) is
/// killed, the TAP unplugged, the sockets and pid file removed, and the VM recorded Stopped.
/// </summary>
internal sealed class VmReconciler
{
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    private readonly VmPsPaths paths;
    private readonly VmStore store;
    private readonly VmNetworking networking;

    public VmReconciler(VmPsPaths paths, VmStore store, VmNetworking networking)
    {
        this.paths = paths;
        this.store = store;
        this.networking = networking;
    }

    public async Task<VmRecord> ReconcileAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        if (IsAbandoned(vm))
        {
            return await SettleAsync(vm, cancellationToken).ConfigureAwait(false);
        }

        var ended = Outcome(vm);
        if (ended is null)
        {
            return vm;
        }

        var stored = await store.UpdateAsync(vm.Id, current => current.Unchanged(vm) ? ended : current, cancellationToken).ConfigureAwait(false);
        if (stored == ended)
        {
            Files(vm).DeleteRuntimeFiles();
        }

        return stored ?? ended;
    }

    public VmFiles Files(VmRecord vm) => Files(vm.Id);

    /// <summary>The directory is named by the id without dashes: Unix socket paths inside it must stay under 108 bytes.</summary>
    public VmFiles Files(Guid id) => new(paths.VmDirectory(id.ToString("N")));

    /// <summary>
    /// Starting or Stopping, and the session doing it is gone (or was never recorded, as Stopping rows of schema 5 were):
    /// nobody will finish what it began.
    /// </summary>
    private static bool IsAbandoned(VmRecord vm) =>
        vm.State is VmState.Starting or VmState.Stopping && (vm.Session is not { } session || !ProcessProbe.IsRunning(session));

    /// <summary>
    /// This session takes the transition over (compare-and-set, so of several readers one settles and the others see
    /// its outcome), ends what the dead session left on the host, and records the VM Stopped. On failure the row goes
    /// back to the dead session's claim, for the next read to try again.
    /// </summary>
    private async Task<VmRecord> SettleAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        var settler = ProcessProbe.Current();
        var claimed = vm with { Session = settler };
        var stored = await store.UpdateAsync(vm.Id, current => current.Unchanged(vm) ? claimed : current, cancellationToken).ConfigureAwait(false);
        if (stored != claimed)
        {
            return stored ?? vm;
        }

        var files = Files(vm);
        var launched = vm.Instance is not null || File.Exists(files.HypervisorPidFile);
        try
        {
            await KillLeftHypervisorAsync(vm, files).ConfigureAwait(false);
            await networking.UnplugAsync(vm.Id, cancellationToken).ConfigureAwait(false);
            files.DeleteRuntimeFiles();
        }
        catch
        {
            await store.UpdateAsync(vm.Id, current => current.Unchanged(claimed) ? vm : current, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var exit = GuestExit.Read(files, vm.Hypervisor);
        var session = vm.Session is { } dead ? $" (pid {dead.Pid})" : "";
        // Start-Vm removes a saved state before a cold boot and once a restored guest runs: one still there was being
        // restored, and can be again unless a hypervisor ran from it (the guest may have written its disk since).
        var restorable = vm.State == VmState.Starting && Directory.Exists(files.SavedState);
        if (restorable && launched)
        {
            VmDirectorySweep.DeleteDirectory(files.SavedState);
        }

        var settled = restorable && !launched ? claimed.Saved() : claimed.Stopped(
            exit.PoweredOff ? exit.ExitCode : null,
            vm.State == VmState.Starting
                ? $"The session that was starting this VM{session} exited before the VM booted."
                : $"The session that was stopping this VM{session} exited; the stop was completed.");
        return await store.UpdateAsync(vm.Id, current => current.Unchanged(claimed) ? settled : current, CancellationToken.None).ConfigureAwait(false)
            ?? settled;
    }

    /// <summary>
    /// The hypervisor the row records, the one the launcher's pid file names (the session may have died between the
    /// launch and the record) and any process started for this VM's directory (it may have died between the spawn and
    /// the pid file), each killed only while <see cref="ProcessProbe.IsDetachedFor"/> holds: a recycled PID, a planted
    /// pid file or a user's own process reading the VM's files never gets killed.
    /// </summary>
    private static async Task KillLeftHypervisorAsync(VmRecord vm, VmFiles files)
    {
        var candidates = new[] { vm.Instance?.Process, PidFile.Read(files.HypervisorPidFile) }.OfType<ProcessIdentity>()
            .Concat(ProcessProbe.FindDetachedFor(files.Directory));
        foreach (var process in candidates.Distinct())
        {
            if (ProcessProbe.IsDetachedFor(process, files.Directory))
            {
                await ProcessProbe.KillAsync(process, KillWait, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The row the VM should have now, or null when it is right as it is.</summary>
    private VmRecord? Outcome(VmRecord vm)
    {
        if (!vm.State.IsActive())
        {
            return null;
        }

        if (vm.Instance is not { } instance || ProcessProbe.IsRunning(instance.Process))
        {
            // Starting with no hypervisor recorded yet is fine while its session lives (else it is abandoned, above).
            return null;
        }

        // Save-Vm sealed the state and then its session died before recording it (a start owns its own outcome).
        if (vm.State != VmState.Starting && Directory.Exists(Files(vm).SavedState))
        {
            return vm.Saved();
        }

        // The keeper copies the guest's last words (its exit marker) before it ends.
        VmLogKeeper.End(Files(vm).Directory);
        return vm.Ended(
            GuestExit.Read(Files(vm), vm.Hypervisor),
            $"The hypervisor process (pid {instance.Process.Pid}) exited without the guest powering off.");
    }
}
