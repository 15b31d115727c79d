using VmPs.Core.Agent;
using VmPs.Core.Logs;
using VmPs.Core.Network;
using VmPs.Protocol.Logs;

namespace VmPs.Core.Vms;

/// <summary>
/// The VM operations behind the VM cmdlets (New-/Get-/Start-/Stop-/Remove-Vm, Invoke-VmCommand,
/// Enter-Vm, Copy-VmFile, Get-VmLog). <see cref="VmManager"/> is the real one; cmdlet tests use fakes.
/// </summary>
public interface IVmManager
{
    /// <summary>Creates the VM (directory, overlay disk, row, network adapter); on any failure nothing is left behind.</summary>
    Task<VmInfo> CreateAsync(VmCreateOptions options, CancellationToken cancellationToken);

    /// <summary>New-Vm -FromCheckpoint: a fork of the VM's checkpoint, Saved in its memory when it has any; Start-Vm gives it its own identity.</summary>
    Task<VmInfo> ForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="ForkAsync"/> short of making anything (New-Vm -FromCheckpoint -WhatIf).</summary>
    Task ValidateForkAsync(string vmName, string checkpointName, string name, CancellationToken cancellationToken);

    /// <summary>Copy-Vm: a fork of the VM as it is now (a checkpoint taken, forked and removed); a running source runs on.</summary>
    Task<VmInfo> CopyAsync(string vmName, string name, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="CopyAsync"/> short of changing anything (Copy-Vm -WhatIf).</summary>
    Task ValidateCopyAsync(string vmName, string name, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="CreateAsync"/> short of allocating anything (New-Vm -WhatIf).</summary>
    Task ValidateCreateAsync(VmCreateOptions options, CancellationToken cancellationToken);

    Task<IReadOnlyList<VmInfo>> GetAllAsync(CancellationToken cancellationToken);

    /// <summary>The VM with this name (case-insensitive), or null.</summary>
    Task<VmInfo?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>The VM with this name; throws VmNotFound.</summary>
    Task<VmInfo> GetAsync(string name, CancellationToken cancellationToken);

    /// <summary>The VM's network adapter, or null when it has none. Throws VmNotFound.</summary>
    Task<NetworkAdapterInfo?> GetNetworkAdapterAsync(string name, CancellationToken cancellationToken);

    /// <summary>What the running or paused VM has used (Measure-Vm). Throws VmNotFound or VmNotRunning.</summary>
    Task<Metering.VmMeasurement> MeasureAsync(string name, CancellationToken cancellationToken);

    /// <summary>Repair-VmNetwork: the network brought back to its records, the TAPs of VMs that are not running unplugged; with <paramref name="dryRun"/>, only the plan.</summary>
    Task<NetworkRepairResult> RepairNetworkAsync(string network, bool dryRun, CancellationToken cancellationToken);

    /// <summary>Boots a Stopped or Crashed VM, or restores a Saved one, and unless told otherwise waits until its agent answers.</summary>
    Task<VmInfo> StartAsync(string name, VmStartOptions options, IProgress<VmProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Shuts the guest down (forced: without waiting on its programs), killing the hypervisor after the timeout; TurnOff kills at once.</summary>
    Task<VmInfo> StopAsync(string name, VmStopOptions options, CancellationToken cancellationToken);

    /// <summary>Shuts a running or paused VM down as StopAsync does and boots it afresh; another state is VmNotRunning.</summary>
    Task<VmInfo> RestartAsync(string name, VmStopOptions stopOptions, VmStartOptions startOptions, IProgress<VmProgress>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// Grows a stopped VM's own writable disk and its filesystem to <paramref name="sizeGiB"/>; the guest sees the room
    /// at its next boot. Errors: VmDiskResizeNeedsStoppedVm, VmDiskShrinkNotSupported, DiskSizeOutOfRange, FilesystemDamaged.
    /// </summary>
    Task<VmInfo> ResizeDiskAsync(string name, int sizeGiB, CancellationToken cancellationToken);

    /// <summary>Set-Vm: a stopped VM's CPUs and memory; with <paramref name="dryRun"/>, every check and no change.</summary>
    Task<VmInfo> SetAsync(string name, VmSetOptions options, bool dryRun, CancellationToken cancellationToken);

    /// <summary>Stops a running VM's vCPUs (State Paused).</summary>
    Task<VmInfo> SuspendAsync(string name, CancellationToken cancellationToken);

    /// <summary>Continues a paused VM and syncs its clock.</summary>
    Task<VmInfo> ResumeAsync(string name, CancellationToken cancellationToken);

    /// <summary>Writes a running or paused VM's memory and device state to disk and ends its hypervisor (State Saved); Start-Vm restores it.</summary>
    Task<VmInfo> SaveAsync(string name, CancellationToken cancellationToken);

    /// <summary>A named checkpoint of the VM: its disk, and its memory while it runs.</summary>
    Task<VmCheckpointInfo> CheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken);

    /// <summary>The VM's checkpoints, oldest first.</summary>
    Task<IReadOnlyList<VmCheckpointInfo>> GetCheckpointsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Returns the VM to the checkpoint (Saved when it has memory, else Stopped); its current state is lost.</summary>
    Task<VmInfo> RestoreCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken);

    /// <summary>Deletes the checkpoint.</summary>
    Task RemoveCheckpointAsync(string name, string checkpointName, CancellationToken cancellationToken);

    /// <summary>Deletes the VM and everything it owns; a running VM is refused unless <paramref name="force"/>.</summary>
    Task RemoveAsync(string name, bool force, CancellationToken cancellationToken);

    /// <summary>Runs a command in a running VM to completion; a non-zero exit code is a result, not an error.</summary>
    Task<VmCommandResult> ExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken);

    /// <summary>Starts a command in a running VM, for callers that stream its stdin and output. The caller disposes it.</summary>
    Task<VmExecution> StartExecAsync(string name, VmExecOptions options, CancellationToken cancellationToken);

    /// <summary>Opens a connection to a running VM's agent (TTY exec, file copy). The caller disposes it.</summary>
    Task<AgentClient> ConnectAgentAsync(string name, CancellationToken cancellationToken);

    /// <summary>New-VmImage -FromVm: a stopped disk image VM's disk, flattened, as a new disk image.</summary>
    Task<Images.ImageInfo> CreateImageFromVmAsync(string vmName, string imageName, bool force, IProgress<Images.Oci.ImagePullProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Attaches to a running VM's serial console (Enter-Vm -Console). The caller disposes the session.</summary>
    Task<SerialConsoleSession> AttachConsoleAsync(string name, CancellationToken cancellationToken);

    /// <summary>A VM's log as lines, the last <see cref="VmLogOptions.Tail"/> of them, then followed when asked.</summary>
    IAsyncEnumerable<string> GetLogAsync(string name, VmLogSource source, VmLogOptions options, CancellationToken cancellationToken);

    /// <summary>The structured init log of the VM's last boot.</summary>
    IAsyncEnumerable<InitLogRecord> GetInitLogAsync(string name, VmLogOptions options, CancellationToken cancellationToken);
}
