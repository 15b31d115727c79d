using System.Text.Json.Serialization;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

// The subset of Cloud Hypervisor's OpenAPI schemas VmPs sends and reads. Property names become
// snake_case through CloudHypervisorJsonContext; null members are left out so CH applies its defaults.

/// <summary>The VM configuration for PUT /vm.create; only <see cref="Payload"/> is required.</summary>
public sealed record VmConfig
{
    public required PayloadConfig Payload { get; init; }

    public CpusConfig? Cpus { get; init; }

    public MemoryConfig? Memory { get; init; }

    public IReadOnlyList<DiskConfig>? Disks { get; init; }

    public IReadOnlyList<NetConfig>? Net { get; init; }

    public RngConfig? Rng { get; init; }

    public VsockConfig? Vsock { get; init; }

    public ConsoleConfig? Serial { get; init; }

    public ConsoleConfig? Console { get; init; }

    /// <summary>virtio-fs devices, each served by a virtiofsd over vhost-user; they need shared guest memory.</summary>
    public IReadOnlyList<FsConfig>? Fs { get; init; }

    /// <summary>The pvpanic device, through which a guest kernel's panic reaches the event monitor ("guest", "panic").</summary>
    public bool? Pvpanic { get; init; }
}

/// <summary>One virtio-fs device (FsConfig): every field but id and pci_segment is required.</summary>
public sealed record FsConfig(string Tag, string Socket, int NumQueues, int QueueSize);

public sealed record PayloadConfig
{
    public string? Kernel { get; init; }

    public string? Initramfs { get; init; }

    public string? Cmdline { get; init; }

    /// <summary>UEFI firmware (CLOUDHV.fd or rust-hypervisor-firmware) instead of a kernel.</summary>
    public string? Firmware { get; init; }
}

public sealed record CpusConfig(int BootVcpus, int MaxVcpus);

public sealed record MemoryConfig
{
    /// <summary>Guest RAM in bytes.</summary>
    public required long Size { get; init; }

    public long? HotplugSize { get; init; }

    public bool? Shared { get; init; }

    public bool? Hugepages { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<DiskImageType>))]
public enum DiskImageType
{
    Raw,
    Qcow2,
    FixedVhd,
    Vhdx,
    FlatVmdk,
    Unknown,
}

public sealed record DiskConfig
{
    public required string Path { get; init; }

    public bool? Readonly { get; init; }

    public bool? Direct { get; init; }

    public DiskImageType? ImageType { get; init; }

    public string? Id { get; init; }

    /// <summary>The virtio-blk serial the guest sees in /sys/block/vdX/serial.</summary>
    public string? Serial { get; init; }
}

public sealed record NetConfig
{
    public string? Tap { get; init; }

    public string? Mac { get; init; }

    public string? Ip { get; init; }

    public string? Mask { get; init; }

    public int? Mtu { get; init; }

    public int? NumQueues { get; init; }

    public string? Id { get; init; }
}

public sealed record RngConfig(string Src);

/// <summary>Hybrid vsock: CH proxies guest vsock connections through the Unix socket at <see cref="Socket"/>.</summary>
public sealed record VsockConfig(uint Cid, string Socket);

[JsonConverter(typeof(JsonStringEnumConverter<ConsoleMode>))]
public enum ConsoleMode
{
    Off,
    Pty,
    Tty,
    File,
    Socket,
    Null,
}

/// <summary>Used for both the serial port and the virtio console.</summary>
public sealed record ConsoleConfig(ConsoleMode Mode, string? File = null);

/// <summary>CH's VmState (named apart from VmPs's own <see cref="Vms.VmState"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CloudHypervisorVmState>))]
public enum CloudHypervisorVmState
{
    Created,
    Running,
    Shutdown,
    Paused,
    BreakPoint,
}

/// <summary>The answer of GET /vm.info.</summary>
public sealed record VmInfoResponse
{
    public required VmConfig Config { get; init; }

    public required CloudHypervisorVmState State { get; init; }

    public long? MemoryActualSize { get; init; }
}

/// <summary>The answer of GET /vmm.ping.</summary>
public sealed record VmmPingResponse
{
    public required string Version { get; init; }

    public string? BuildVersion { get; init; }

    public long? Pid { get; init; }

    public IReadOnlyList<string>? Features { get; init; }
}

/// <summary>The answer of a hot-plug (PUT /vm.add-*) on a running VM.</summary>
public sealed record PciDeviceInfo(string Id, string Bdf);

/// <summary>vm.snapshot's body: where CH writes config.json, state.json and memory-ranges (a file:// directory URL).</summary>
public sealed record VmSnapshotConfig(string DestinationUrl);

/// <summary>
/// How vm.restore fills guest memory from memory-ranges (CH's MemoryRestoreMode, v52 on; older versions copy): Copy reads
/// the whole file first, OnDemand registers the memory with userfaultfd and reads each page at its first touch.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<MemoryRestoreMode>))]
public enum MemoryRestoreMode
{
    Copy,
    OnDemand,
}

/// <summary>
/// vm.restore's body: the snapshot directory as a file:// URL; prefault false maps memory without touching every page
/// first (CH refuses it with OnDemand); <see cref="MemoryRestoreMode"/> null leaves CH's default (Copy), for versions
/// that have no such member.
/// </summary>
public sealed record RestoreConfig(string SourceUrl, bool Prefault, MemoryRestoreMode? MemoryRestoreMode = null);

/// <summary>The body of PUT /vm.remove-device: the id the device was added with.</summary>
public sealed record VmRemoveDevice(string Id);

/// <summary>vm.resize's body: the vCPUs (at most cpus.max_vcpus) and RAM in bytes (at most memory.size + hotplug_size) wanted; null leaves one as it is.</summary>
public sealed record VmResize(int? DesiredVcpus, long? DesiredRam);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VmConfig))]
[JsonSerializable(typeof(VmInfoResponse))]
[JsonSerializable(typeof(VmmPingResponse))]
[JsonSerializable(typeof(PciDeviceInfo))]
[JsonSerializable(typeof(VmSnapshotConfig))]
[JsonSerializable(typeof(RestoreConfig))]
[JsonSerializable(typeof(VmRemoveDevice))]
[JsonSerializable(typeof(VmResize))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, long>>))]
[JsonSerializable(typeof(string[]))]
public sealed partial class CloudHypervisorJsonContext : JsonSerializerContext;
