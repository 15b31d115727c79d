using Newtonsoft.Json.Converters;
using VmPs.Core.Agent;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Hypervisors;

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum HypervisorKind
{
    CloudHypervisor,
    Qemu,
}

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum DiskImageFormat
{
    Raw,
    Qcow2,
}

/// <summary>
/// One block device. The guest finds its disks by <see cref="Serial"/>, never by probe order
/// (virtio-mmio devices enumerate in a different order from the command line). <see cref="CdRom"/>: a read-only ISO
/// 9660 image in a CD-ROM drive (<see cref="HypervisorFeatures.CdRom"/>), which firmware boots before the disks.
/// </summary>
public sealed record DiskSpec(string Path, bool ReadOnly, string Serial, DiskImageFormat Format = DiskImageFormat.Raw, bool CdRom = false);

/// <summary>
/// One virtio-net adapter backed by an existing persistent TAP (made by the network manager, in the
/// namespace the hypervisor is started in). The guest finds its interface by <see cref="MacAddress"/>.
/// </summary>
public sealed record NetworkInterfaceSpec(string Tap, string MacAddress, int Mtu);

/// <summary>The firmware a VM boots through.</summary>
/// <param name="Kind">UEFI or a legacy BIOS.</param>
/// <param name="CodePath">The firmware image, shared read-only by every VM.</param>
/// <param name="VariablesPath">The VM's own UEFI variable store (a private copy of the firmware's template); null: none.</param>
public sealed record FirmwareSpec(Images.ImageFirmware Kind, string CodePath, string? VariablesPath);

/// <summary>Everything a driver needs to start one VM. Paths are absolute.</summary>
public sealed record VmLaunchSpec
{
    public required string VmName { get; init; }

    /// <summary>Per-VM directory: sockets, logs and pid files go here.</summary>
    public required string VmDirectory { get; init; }

    public const string PidFileName = "hypervisor.pid";

    /// <summary>Where the driver's launcher records the hypervisor process the moment it exists (see PidFile).</summary>
    public string PidFilePath => Path.Combine(VmDirectory, PidFileName);

    /// <summary>The kernel booted directly; null with <see cref="Firmware"/>, whose disk brings its own.</summary>
    public string? KernelPath { get; init; }

    /// <summary>
    /// The same kernel as an uncompressed vmlinux with a PVH entry (<see cref="Host.KernelInfo.VmlinuxPath"/>); drivers
    /// that boot one directly (QEMU microvm, Cloud Hypervisor) take it instead of <see cref="KernelPath"/>. Null: none.
    /// </summary>
    public string? VmlinuxPath { get; init; }

    /// <summary>The initrd of a direct kernel boot; null with <see cref="Firmware"/>.</summary>
    public string? InitrdPath { get; init; }

    /// <summary>Kernel arguments of a direct boot without the console settings, which the driver adds for its serial device.</summary>
    public string KernelArguments { get; init; } = "";

    /// <summary>
    /// Boots the first disk through this firmware (a disk image with its own bootloader) instead of
    /// <see cref="KernelPath"/>; null: direct kernel boot.
    /// </summary>
    public FirmwareSpec? Firmware { get; init; }

    public required int Cpus { get; init; }

    public required int MemoryMiB { get; init; }

    /// <summary>
    /// The vCPUs a driver that hot-plugs them lets the running VM grow to (Set-Vm); null: <see cref="Cpus"/>, all built
    /// into the machine (QEMU q35 then has no vCPU devices, as VmPs launched it before it plugged vCPUs).
    /// </summary>
    public int? MaxCpus { get; init; }

    /// <summary>The memory a driver that hot-plugs it lets the running VM grow to; null: <see cref="MemoryMiB"/>.</summary>
    public int? MaxMemoryMiB { get; init; }

    /// <summary>
    /// The memory the running VM booted with, when memory was hot-plugged into it since (<see cref="MemoryMiB"/> is then
    /// the total): what a driver that builds the machine's RAM from it needs to restore the VM. Null: <see cref="MemoryMiB"/>.
    /// </summary>
    public int? BootMemoryMiB { get; init; }

    public required IReadOnlyList<DiskSpec> Disks { get; init; }

    /// <summary>The guest's serial console is written here.</summary>
    public required string ConsoleLogPath { get; init; }

    /// <summary>
    /// The guest's virtio console (its /dev/hvc0, where the image's command writes stdout and stderr) is written
    /// here; null: no such device.
    /// </summary>
    public string? AppLogPath { get; init; }

    /// <summary>The hypervisor's own stdout/stderr (and log, where it has one) go here.</summary>
    public required string HypervisorLogPath { get; init; }

    /// <summary>
    /// The hypervisor's events of this run (QEMU: its QMP events, see Qemu.QemuEventLog), which say how it ended; null:
    /// none. Set by the driver that writes them.
    /// </summary>
    public string? EventLogPath { get; init; }

    /// <summary>The cap of each log file (see VmLogKeeper): the current file at most this, one rotated file beside it.</summary>
    public long LogFileMaxBytes { get; init; } = Logs.VmLogKeeper.MaxFileBytes;

    /// <summary>Guest vsock context id (3 or more), unique among running VMs.</summary>
    public required uint VsockCid { get; init; }

    /// <summary>Network adapters; empty: the VM has no network.</summary>
    public IReadOnlyList<NetworkInterfaceSpec> NetworkInterfaces { get; init; } = [];

    /// <summary>Host directories the guest mounts through virtio-fs, each served by its own virtiofsd (see VirtioFsDaemons).</summary>
    public IReadOnlyList<ShareSpec> Shares { get; init; } = [];

    /// <summary>
    /// Before the hypervisor starts: the VM directory 0700 and the logs it writes created 0600 (it opens an existing
    /// file and keeps its mode, whatever its umask).
    /// </summary>
    internal void CreatePrivateFiles()
    {
        PrivateFiles.CreateDirectory(VmDirectory);
        foreach (var log in LogPaths)
        {
            PrivateFiles.OpenHandle(log, FileMode.OpenOrCreate, FileAccess.Write).Dispose();
        }
    }

    /// <summary>The logs the hypervisor fills, through the log keeper (see VmLogKeeper).</summary>
    internal IEnumerable<string> LogPaths => new[] { ConsoleLogPath, AppLogPath, HypervisorLogPath, EventLogPath }.OfType<string>();

    /// <summary>Once the hypervisor runs: the sockets it made (with its umask's mode) become 0600.</summary>
    internal void RestrictHypervisorFiles() => PrivateFiles.RepairTree(VmDirectory);
}

/// <summary>
/// A running hypervisor as recorded in the state database, so that a later pwsh session can find,
/// control and connect to it.
/// </summary>
public sealed record HypervisorInstance(
    HypervisorKind Kind,
    ProcessIdentity Process,
    string ControlSocketPath,
    AgentEndpoint Agent);

/// <summary>
/// One hypervisor implementation. Drivers start one detached process per VM and talk to it over
/// its control socket (CH REST, QEMU QMP).
/// </summary>
public interface IHypervisorDriver
{
    HypervisorKind Kind { get; }

    /// <summary>What this driver can do on this host; optional operations check it first.</summary>
    HypervisorCapabilities Capabilities { get; }

    /// <summary>
    /// Starts the VM and returns once the hypervisor accepted it and the guest is booting. On failure
    /// nothing is left running and the exception carries the hypervisor's own error text.
    /// The process is started before the first await, by the calling thread: VmPs calls this on its
    /// network namespace's thread, so the hypervisor runs where the VM's TAP is.
    /// </summary>
    Task<HypervisorInstance> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>Presses the ACPI power button (graceful shutdown request to the guest kernel).</summary>
    Task PressPowerButtonAsync(HypervisorInstance instance, CancellationToken cancellationToken);

    /// <summary>Stops the vCPUs; the process, its memory and devices stay (<see cref="HypervisorFeatures.Pause"/>).</summary>
    Task PauseAsync(HypervisorInstance instance, CancellationToken cancellationToken);

    /// <summary>Continues the vCPUs of a paused VM.</summary>
    Task ResumeAsync(HypervisorInstance instance, CancellationToken cancellationToken);

    /// <summary>
    /// Pauses the VM (if it runs) and writes its memory and device state into <paramref name="directory"/>, an
    /// empty private directory; the VM is left paused, for the caller to resume or end
    /// (<see cref="HypervisorFeatures.Snapshot"/>). Disk contents are not copied: the disks must stay as they are
    /// until the state is restored. A driver that can (<see cref="HypervisorFeatures.LazyRestore"/>) keeps the memory
    /// as a file of its own, which restores of a checkpoint map copy-on-write, shared by every fork.
    /// </summary>
    Task SaveStateAsync(HypervisorInstance instance, string directory, CancellationToken cancellationToken);

    /// <summary>
    /// Starts the hypervisor for <paramref name="spec"/> (the same devices as when the state was saved) from the
    /// state in <paramref name="directory"/> and returns once the VM runs again. <paramref name="verified"/> is the
    /// check of the state's files, still running: the hypervisor process starts meanwhile, but nothing of the state is
    /// loaded until it has completed, and when it fails the restore fails with its error. On failure nothing is left
    /// running; the state files are not changed. Started before the first await, like <see cref="LaunchAsync"/>.
    /// </summary>
    Task<HypervisorInstance> RestoreAsync(VmLaunchSpec spec, string directory, Task verified, CancellationToken cancellationToken);

    /// <summary>
    /// Changes the running VM's vCPUs and memory to <paramref name="cpus"/> and <paramref name="memoryMiB"/> (null: as
    /// they are) (<see cref="HypervisorFeatures.CpuResize"/>, <see cref="HypervisorFeatures.MemoryResize"/>).
    /// </summary>
    Task ResizeAsync(HypervisorInstance instance, int? cpus, int? memoryMiB, CancellationToken cancellationToken);

    /// <summary>The bytes the running or paused VM's disks have read and written since its hypervisor started.</summary>
    Task<Metering.DiskCounters> ReadDiskCountersAsync(HypervisorInstance instance, CancellationToken cancellationToken);

    /// <summary>Stops the hypervisor at once (its API first, then SIGKILL) and waits until the process is gone.</summary>
    Task KillAsync(HypervisorInstance instance, CancellationToken cancellationToken);

    /// <summary>
    /// Hot-plugs <paramref name="disk"/> into the running VM as a virtio-blk device named <paramref name="deviceId"/>
    /// (needs <see cref="HypervisorFeatures.DiskHotplug"/>). On failure nothing stays plugged.
    /// </summary>
    Task AttachDiskAsync(HypervisorInstance instance, string deviceId, DiskSpec disk, CancellationToken cancellationToken);

    /// <summary>Unplugs the disk hot-plugged as <paramref name="deviceId"/> and returns once the hypervisor let go of its file; a disk already gone counts as done.</summary>
    Task DetachDiskAsync(HypervisorInstance instance, string deviceId, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="path"/>, a qcow2 file over the current file of the launch spec's disk number
    /// <paramref name="diskIndex"/>, that disk's writable file while the VM runs; the old file is only read from then
    /// on (<see cref="HypervisorFeatures.LiveDiskSnapshot"/>).
    /// </summary>
    Task SnapshotDiskAsync(HypervisorInstance instance, int diskIndex, string path, CancellationToken cancellationToken);

    /// <summary>
    /// A stream joined to the running VM's serial console (<see cref="HypervisorFeatures.SerialConsole"/>): what is
    /// written goes to the guest as typed input, what is read is the guest's console output, which the console log
    /// still receives too. One stream at a time; it ends when the VM stops.
    /// </summary>
    Task<Stream> ConnectConsoleAsync(HypervisorInstance instance, CancellationToken cancellationToken);
}
