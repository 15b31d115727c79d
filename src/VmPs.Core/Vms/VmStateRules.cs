namespace VmPs.Core.Vms;

/// <summary>
/// Which states Suspend-Vm, Resume-Vm and Save-Vm accept, in one place: the cmdlets check them before -WhatIf
/// reports, and <see cref="VmStandby"/> checks them again on the current row.
/// </summary>
public static class VmStateRules
{
    /// <summary>Suspend-Vm and Save-Vm: a running or paused VM.</summary>
    public static void RequireRunningOrPaused(string name, VmState state)
    {
        if (state is not (VmState.Running or VmState.Paused))
        {
            throw VmErrors.NotRunning(name, state);
        }
    }

    /// <summary>Resume-Vm: a paused VM.</summary>
    public static void RequirePaused(string name, VmState state)
    {
        if (state != VmState.Paused)
        {
            throw VmErrors.NotPaused(name, state);
        }
    }
}
