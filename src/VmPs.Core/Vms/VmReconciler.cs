using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>
/// Brings a row in line with the live truth: a VM recorded as active whose hypervisor process (PID
/// plus start time) is gone becomes Stopped when the guest powered off, else Crashed with the
/// console tail. Its TAP, which outlives the hypervisor, stays: reads leave the host alone, and it
/// goes with the VM's next Stop-Vm, Remove-Vm or Repair-VmNetwork (Start-Vm plugs it again).
/// </summary>
internal sealed class VmReconciler
{
    private readonly VmPsPaths paths;
    private readonly VmStore store;

    public VmReconciler(VmPsPaths paths, VmStore store)
    {
        this.paths = paths;
        this.store = store;
    }

    public async Task<VmRecord> ReconcileAsync(VmRecord vm, CancellationToken cancellationToken)
    {
        var ended = Outcome(vm);
        if (ended is null)
        {
            return vm;
        }

        var stored = await store.UpdateAsync(vm.Id, current => current.Unchanged(vm) ? ended : current, cancellationToken).ConfigureAwait(false);
        if (stored == ended)
        {
            Files(vm).DeleteSockets();
        }

        return stored ?? ended;
    }

    public VmFiles Files(VmRecord vm) => Files(vm.Id);

    /// <summary>The directory is named by the id without dashes: Unix socket paths inside it must stay under 108 bytes.</summary>
    public VmFiles Files(Guid id) => new(paths.VmDirectory(id.ToString("N")));

    /// <summary>The row the VM should have now, or null when it is right as it is.</summary>
    private VmRecord? Outcome(VmRecord vm)
    {
        if (!vm.State.IsActive())
        {
            return null;
        }

        if (vm.Instance is { } instance)
        {
            if (ProcessProbe.IsRunning(instance.Process))
            {
                return null;
            }

            // Save-Vm sealed the state and then its session died before recording it (a start owns its own outcome).
            if (vm.State != VmState.Starting && Directory.Exists(Files(vm).SavedState))
            {
                return vm.Saved();
            }

            return vm.Ended(
                GuestExit.Read(Files(vm).ConsoleLog),
                $"The hypervisor process (pid {instance.Process.Pid}) exited without the guest powering off.");
        }

        // Starting with no hypervisor recorded yet: fine while the starting session lives.
        return vm.Session is { } session && ProcessProbe.IsRunning(session)
            ? null
            : vm.Stopped(exitCode: null, detail: "The session that was starting this VM exited before the VM booted.");
    }
}
