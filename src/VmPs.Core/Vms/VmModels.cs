using Newtonsoft.Json.Converters;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Network;

namespace VmPs.Core.Vms;

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum VmState
{
    /// <summary>Created or cleanly stopped; no hypervisor process.</summary>
    Stopped,
    Starting,
    Running,
    Stopping,

    /// <summary>The hypervisor process died without the guest powering off.</summary>
    Crashed,

    /// <summary>The hypervisor runs with the vCPUs stopped (Suspend-Vm); Resume-Vm continues them.</summary>
    Paused,

    /// <summary>Memory and device state are on disk and no hypervisor runs (Save-Vm); Start-Vm restores them.</summary>
    Saved,
}

/// <summary>A VM as users see it (Get-Vm's VmPs.Vm objects).</summary>
public sealed record VmInfo
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required VmState State { get; init; }

    public required string Image { get; init; }

    public required int Cpus { get; init; }

    public required int MemoryMiB { get; init; }

    public required HypervisorKind Hypervisor { get; init; }

    /// <summary>The QEMU machine New-Vm -MachineType chose (Q35 hot-plugs disks); null: the hypervisor's default.</summary>
    public QemuMachine? MachineType { get; init; }

    /// <summary>Kernel image this VM boots (the host's default kernel unless -Kernel was given).</summary>
    public required string KernelPath { get; init; }

    public required uint VsockCid { get; init; }

    public required string MacAddress { get; init; }

    /// <summary>The VmPs network the VM's adapter is on; null: the VM has no network.</summary>
    public string? Network { get; init; }

    /// <summary>The VM's IPv4 address on <see cref="Network"/>.</summary>
    public string? IPAddress { get; init; }

    /// <summary>The adapter's TAP as found on the host (Connected while the VM runs with its network); null: the VM has no network.</summary>
    public NetworkAdapterStatus? NetworkStatus { get; init; }

    public required string Directory { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>Hypervisor PID while Starting, Running or Stopping.</summary>
    public int? ProcessId { get; init; }

    /// <summary>Exit code of the image's entrypoint, once the guest reported it before powering off.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The VmPs user who owns the VM; null: the host's administrator.</summary>
    public string? Owner { get; init; }

    /// <summary>The init mode New-Vm -InitMode chose; null when the VM follows its image's.</summary>
    public ImageInitMode? InitMode { get; init; }

    /// <summary>For a Crashed VM: why, with the tail of its console log.</summary>
    public string? StatusDetail { get; init; }

    /// <summary>The size of the VM's own writable disk (New-Vm -DiskSizeGB, Resize-VmDisk).</summary>
    public int DiskSizeGiB { get; init; }

    /// <summary>The host blocks the VM's writable disk really uses (its sparse file's st_blocks * 512).</summary>
    public long DiskAllocatedBytes { get; init; }

    /// <summary>The container of the VM's disk: Raw, or Qcow2 (New-Vm -DiskFormat Qcow2, or over a checkpoint's frozen disk).</summary>
    public DiskImageFormat DiskFormat { get; init; }

    /// <summary>The host directories the guest sees through virtio-fs (New-Vm -Share), in the order they were given.</summary>
    public IReadOnlyList<Shares.ShareOptions> Shares { get; init => field = DisplayList.Of(value); } = DisplayList.Of<Shares.ShareOptions>([]);

    public TimeSpan? Uptime => State == VmState.Running && StartedAt is { } started ? DateTimeOffset.UtcNow - started : null;

    /// <summary>When the host last saw an exec, a file operation or a change of the VM's network packet count; null: none since it was made.</summary>
    public DateTimeOffset? LastActivityAt { get; init; }

    /// <summary>Whether the VM's metadata service (169.254.169.254) requires IMDSv2 tokens (-MetadataOptions @{ HttpTokens = ... }).</summary>
    public MetadataHttpTokens MetadataHttpTokens { get; init; }

    /// <summary>The ISO image in the VM's CD-ROM drive (New-Vm -IsoPath), which it boots before its disk; null: none.</summary>
    public string? IsoPath { get; init; }

    /// <summary>
    /// For a running VM: the time since its last exec, file operation or network packet, or since it started when
    /// later (Get-Vm | Where-Object IdleTime -gt '00:15:00' | Save-Vm). Packets are noticed when Get-Vm (or any
    /// command reading the VM) compares the TAP's count with the one it last saw, so a packet counts as of that read.
    /// </summary>
    public TimeSpan? IdleTime => State == VmState.Running && StartedAt is { } started
        ? DateTimeOffset.UtcNow - (LastActivityAt is { } active && active > started ? active : started)
        : null;
}

public sealed record VmCreateOptions
{
    public required string Name { get; init; }

    public required string Image { get; init; }

    public int Cpus { get; init; } = 1;

    public int MemoryMiB { get; init; } = 512;

    /// <summary>Null picks automatically: Cloud Hypervisor when installed and KVM works, else QEMU.</summary>
    public HypervisorKind? Hypervisor { get; init; }

    /// <summary>
    /// The QEMU machine: Q35 (PCIe) hot-plugs disks, so Mount-VmVolume works on the running VM; null: microvm, the
    /// fastest boot, whose devices are fixed at launch. Setting it chooses QEMU.
    /// </summary>
    public QemuMachine? MachineType { get; init; }

    /// <summary>Null uses the host's default kernel.</summary>
    public string? KernelPath { get; init; }

    /// <summary>Size of the writable overlay disk (sparse).</summary>
    public int DiskSizeGiB { get; init; } = 4;

    /// <summary>The overlay disk's container: a raw file, or a qcow2 image (qemu-img; the hypervisor must take qcow2 disks).</summary>
    public DiskImageFormat DiskFormat { get; init; } = DiskImageFormat.Raw;

    /// <summary>Overrides the image's init mode (Systemd: hand PID 1 to the image's systemd; Exec: our init runs the command). Null follows the image.</summary>
    public ImageInitMode? InitMode { get; init; }

    /// <summary>The VM's network adapter; null: no network (the VM has only loopback).</summary>
    public VmNetworkOptions? Network { get; init; }

    /// <summary>The VmPs user who will own the VM, within whose quota it must fit; null: the administrator.</summary>
    public string? Owner { get; init; }

    /// <summary>Volumes to attach (New-Vm -Volume NAME:/path[:ro]).</summary>
    public IReadOnlyList<Volumes.VolumeAttachOptions> Volumes { get; init; } = [];

    /// <summary>Host directories the guest sees through virtio-fs (New-Vm -Share /host/dir:/guest/dir[:ro]).</summary>
    public IReadOnlyList<Shares.ShareOptions> Shares { get; init; } = [];

    /// <summary>
    /// User data (at most 16 KiB), served by the VM's metadata service at /latest/user-data; a disk image VM's cloud-init
    /// runs it, so there it must be a cloud-config or a script. Null: none.
    /// </summary>
    public string? UserData { get; init; }

    /// <summary>OpenSSH public keys: the metadata service's public-keys/N/openssh-key, and a disk image VM's default user's.</summary>
    public IReadOnlyList<string> SshPublicKeys { get; init; } = [];

    /// <summary>Optional, or Required for IMDSv2 tokens only (New-Vm -MetadataOptions @{ HttpTokens = 'required' }).</summary>
    public MetadataHttpTokens MetadataHttpTokens { get; init; }

    /// <summary>
    /// An ISO install (absolute path of an ISO 9660 image): the VM boots it from a read-only CD-ROM drive ahead of a
    /// blank disk of <see cref="DiskSizeGiB"/>, the built-in blank-uefi or blank-bios image; <see cref="Image"/> must
    /// then be empty. Null: none.
    /// </summary>
    public string? IsoPath { get; init; }

    /// <summary>An ISO install's firmware (Uefi, the default, or Bios); only with <see cref="IsoPath"/>, as an image carries its own.</summary>
    public ImageFirmware? Firmware { get; init; }
}

/// <summary>Where New-Vm puts the VM's one network adapter.</summary>
public sealed record VmNetworkOptions
{
    /// <summary>A VmPs network; `default` (10.100.0.0/16, NAT) is created on first use.</summary>
    public string Network { get; init; } = NetworkManager.DefaultNetworkName;

    /// <summary>A static address in the network's subnet; null takes the next free one.</summary>
    public string? IPAddress { get; init; }

    public IReadOnlyList<PortMappingOptions> PublishedPorts { get; init; } = [];

    /// <summary>Bandwidth limit of the adapter (tc); null: none.</summary>
    public int? MaxBandwidthMbps { get; init; }
}

/// <summary>Set-Vm's changes; null keeps the VM's value.</summary>
public sealed record VmSetOptions
{
    public int? Cpus { get; init; }

    public int? MemoryMiB { get; init; }

    /// <summary>-MetadataOptions @{ HttpTokens = ... }: a running VM's metadata service takes it at once.</summary>
    public MetadataHttpTokens? MetadataHttpTokens { get; init; }

    /// <summary>Whether to change the ISO in the CD-ROM drive of a stopped VM to <see cref="IsoPath"/>.</summary>
    public bool ChangeIsoPath { get; init; }

    /// <summary>With <see cref="ChangeIsoPath"/>: the ISO image the VM boots from next (null: the drive is emptied, the VM boots its disk).</summary>
    public string? IsoPath { get; init; }
}

public sealed record VmStartOptions
{
    /// <summary>Wait until the guest agent answers a ping before returning.</summary>
    public bool WaitForAgent { get; init; } = true;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>For a Saved VM: delete its saved state and boot afresh instead of restoring it (Start-Vm -Force).</summary>
    public bool DiscardSavedState { get; init; }
}

public sealed record VmExecOptions
{
    /// <summary>argv: the program and its arguments.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public string? WorkingDirectory { get; init; }

    /// <summary>"name", "uid", "name:group" or "uid:gid" in the guest; null runs as root.</summary>
    public string? User { get; init; }

    /// <summary>
    /// For <see cref="VmManager.ExecAsync"/>: text written to the command's stdin, then stdin is closed; null closes
    /// stdin at once. <see cref="VmManager.StartExecAsync"/> ignores it: its caller writes stdin.
    /// </summary>
    public string? StandardInput { get; init; }

    /// <summary>After this the command and everything it started are killed, and the exec fails with AgentExecTimeout.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// For a buffered result (<see cref="VmExecution.ReadResultAsync"/>): the most bytes kept of stdout, and of stderr;
    /// past it the command is killed and the exec fails with GuestOutputTooLarge. Streaming readers are not limited.
    /// </summary>
    public long MaxOutputBytes { get; init; } = Agent.AgentOutputBuffer.DefaultMaxBytesPerStream;
}

/// <summary>The outcome of Invoke-VmCommand (VmPs.VmCommandResult).</summary>
public sealed record VmCommandResult
{
    public required string VmName { get; init; }

    public required IReadOnlyList<string> Command { get; init => field = DisplayList.Of(value); }

    public required int ExitCode { get; init; }

    /// <summary>The signal that terminated the command, when it did not exit normally.</summary>
    public int? Signal { get; init; }

    public required string Stdout { get; init; }

    public required string Stderr { get; init; }

    public required TimeSpan Duration { get; init; }
}

/// <summary>How Stop-Vm ends a VM, as Hyper-V's Stop-VM does.</summary>
public enum VmStopMethod
{
    /// <summary>The guest shuts down: its programs get SIGTERM and a grace period (the agent, else the power button).</summary>
    Shutdown,

    /// <summary>The guest shuts down without waiting on its programs (they are killed), then powers off (Stop-Vm -Force).</summary>
    ForcedShutdown,

    /// <summary>The hypervisor is killed at once, like pulling the power (Stop-Vm -TurnOff).</summary>
    TurnOff,
}

public sealed record VmStopOptions
{
    public VmStopMethod Method { get; init; } = VmStopMethod.Shutdown;

    /// <summary>How long the guest's shutdown may take before the hypervisor is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Progress of long operations, surfaced by cmdlets through Write-Progress (and -Verbose step timings).</summary>
public sealed record VmProgress(string Activity, string Status, int PercentComplete)
{
    /// <summary>The step this report belongs to, when its status also carries counts (-Verbose times steps); null: the status is the step.</summary>
    public string? Step { get; init; }
}
