namespace VmPs.Core.Vms;

/// <summary>
/// Which states Suspend-Vm, Resume-Vm and Save-Vm accept, and which checkpoint names Checkpoint-Vm takes, in one place: the cmdlets check them before -WhatIf
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

    /// <summary>Checkpoint-Vm -CheckpointName: the rule for VM names, and no ".partial" suffix (a checkpoint being written).</summary>
    public static void RequireValidCheckpointName(string name) => VmCheckpoints.ValidateName(name);

    /// <summary>The checkpoint of that name (case-insensitive) among a VM's; CheckpointNotFound otherwise.</summary>
    public static VmCheckpointInfo RequireCheckpoint(IEnumerable<VmCheckpointInfo> checkpoints, string vmName, string name) =>
        checkpoints.FirstOrDefault(checkpoint => string.Equals(checkpoint.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new VmPsException(VmPsErrorIds.CheckpointNotFound, VmPsErrorKind.ObjectNotFound, $"VM '{vmName}' has no checkpoint named '{name}'.", name)
        {
            RecommendedAction = $"Run Get-VmCheckpoint -VmName {vmName} to list its checkpoints.",
        };

    /// <summary>Resume-Vm: a paused VM.</summary>
    public static void RequirePaused(string name, VmState state)
    {
        if (state != VmState.Paused)
        {
            throw VmErrors.NotPaused(name, state);
        }
    }
}
