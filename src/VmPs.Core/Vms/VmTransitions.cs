using VmPs.Core.Processes;

namespace VmPs.Core.Vms;

/// <summary>The state changes of a VM row, in one place so every path records them the same way.</summary>
internal static class VmTransitions
{
    /// <summary>A hypervisor process belongs to the VM (Paused too: its vCPUs are stopped, the process runs).</summary>
    public static bool IsActive(this VmState state) => state is VmState.Starting or VmState.Running or VmState.Stopping or VmState.Paused;

    public static VmRecord Claimed(this VmRecord vm, ProcessIdentity session) => vm with
    {
        State = VmState.Starting,
        Session = session,
        ExitCode = null,
        StatusDetail = null,
    };

    /// <summary>The hypervisor is gone; a poweroff marker in the console, or the hypervisor's record of a guest power-off, means the guest shut down cleanly.</summary>
    public static VmRecord Ended(this VmRecord vm, GuestExit exit, string crashReason) => exit.PoweredOff
        ? vm.Stopped(exit.ExitCode, detail: null)
        : vm with
        {
            State = VmState.Crashed,
            Instance = null,
            Session = null,
            StoppedAt = DateTimeOffset.UtcNow,
            ExitCode = null,
            StatusDetail = exit.DescribeCrash(crashReason),
        };

    public static VmRecord Stopped(this VmRecord vm, int? exitCode, string? detail) => vm with
    {
        State = VmState.Stopped,
        Instance = null,
        Session = null,
        StoppedAt = DateTimeOffset.UtcNow,
        ExitCode = exitCode,
        StatusDetail = detail,
    };

    /// <summary>Save-Vm finished: the state is on disk and the hypervisor has ended.</summary>
    public static VmRecord Saved(this VmRecord vm) => vm with
    {
        State = VmState.Saved,
        Instance = null,
        Session = null,
        StoppedAt = DateTimeOffset.UtcNow,
        ExitCode = null,
        StatusDetail = null,
    };

    /// <summary>The row as <paramref name="seen"/> still, i.e. no other session changed it meanwhile.</summary>
    public static bool Unchanged(this VmRecord current, VmRecord seen) =>
        current.State == seen.State && current.Instance == seen.Instance && current.Session == seen.Session;
}
