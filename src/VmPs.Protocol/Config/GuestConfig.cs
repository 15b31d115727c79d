namespace VmPs.Protocol.Config;

/// <summary>
/// Everything the guest init needs to know about its VM, written by the host on the config disk
/// (see <see cref="ConfigDisk"/>). Host and guest share this one schema.
/// </summary>
public sealed record GuestConfig
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public string VmName { get; init; } = "";

    public string Hostname { get; init; } = "";

    /// <summary>The VM's /etc/machine-id (32 lowercase hex digits), written at boot; empty: the image's own is kept.</summary>
    public string MachineId { get; init; } = "";

    /// <summary>The image's final argv (entrypoint + cmd). Empty: no app, the VM runs only the agent until shut down.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>KEY=VALUE entries for the app and the base environment of agent execs.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    public string? WorkingDirectory { get; init; }

    /// <summary>"name", "uid", "name:group" or "uid:gid"; empty means root.</summary>
    public string? User { get; init; }

    public InitMode InitMode { get; init; } = InitMode.Exec;

    public AgentChannelConfig AgentChannel { get; init; } = new();

    public DiskSerials Disks { get; init; } = new();

    /// <summary>"erofs" or "ext4".</summary>
    public string RootfsFilesystem { get; init; } = RootfsFilesystems.Erofs;

    /// <summary>The VM's network adapter; null: the VM has none (only loopback).</summary>
    public GuestNetworkConfig? Network { get; init; }

    /// <summary>Volumes to mount before the command (or systemd) starts, in this order.</summary>
    public IReadOnlyList<GuestVolumeConfig> Volumes { get; init; } = [];

    /// <summary>What the guest's metadata service at 169.254.169.254 serves; null: no metadata service.</summary>
    public Metadata.InstanceMetadata? Metadata { get; init; }

    /// <summary>Host directory shares (virtio-fs) to mount after the volumes, in this order.</summary>
    public IReadOnlyList<GuestShareConfig> Shares { get; init; } = [];
}

/// <summary>One host directory share: the virtio-fs device tagged <see cref="Tag"/>, mounted at <see cref="Path"/>.</summary>
public sealed record GuestShareConfig
{
    public string Tag { get; init; } = "";

    /// <summary>An absolute, normalised guest path outside /proc, /sys and /dev.</summary>
    public string Path { get; init; } = "";

    public bool ReadOnly { get; init; }
}

/// <summary>One volume: the disk with <see cref="Serial"/>, mounted (or, without a filesystem, linked) at <see cref="Path"/>.</summary>
public sealed record GuestVolumeConfig
{
    /// <summary>The volume's VmPs name, for what the guest shows of it (its systemd mount unit's description).</summary>
    public string Name { get; init; } = "";

    public string Serial { get; init; } = "";

    /// <summary>An absolute, normalised guest path outside /proc, /sys and /dev.</summary>
    public string Path { get; init; } = "";

    public bool ReadOnly { get; init; }

    /// <summary>"ext4"; null: a raw disk, whose block device is linked at <see cref="Path"/>.</summary>
    public string? Filesystem { get; init; }
}

/// <summary>
/// A static IPv4 setup for the interface with <see cref="MacAddress"/>: the init applies it at boot, the
/// agent's NetworkConfigure request again at run time. No DHCP.
/// </summary>
public sealed record GuestNetworkConfig
{
    /// <summary>The adapter's MAC ("02:76:6d:00:00:01"); the guest finds its interface by it, not by name.</summary>
    public string MacAddress { get; init; } = "";

    /// <summary>The guest's IPv4 address ("10.100.0.2").</summary>
    public string Address { get; init; } = "";

    public int PrefixLength { get; init; } = 24;

    /// <summary>The default route's next hop; null: no default route.</summary>
    public string? Gateway { get; init; }

    /// <summary>Name servers written to /etc/resolv.conf; empty leaves the file as the image has it.</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];

    public int Mtu { get; init; } = 1500;
}

public enum InitMode
{
    /// <summary>Our init stays PID 1 and runs the image command as a child.</summary>
    Exec,

    /// <summary>Reserved: hand PID 1 to the image's systemd.</summary>
    Systemd,
}

public enum AgentChannelKind
{
    VirtioSerial,
    Vsock,
}

public sealed record AgentChannelConfig
{
    public const string DefaultPortName = "org.vmps.agent";
    public const uint DefaultVsockPort = 1024;

    public AgentChannelKind Kind { get; init; } = AgentChannelKind.VirtioSerial;

    /// <summary>The virtio-serial port name (VirtioSerial).</summary>
    public string PortName { get; init; } = DefaultPortName;

    /// <summary>The port the agent listens on (Vsock).</summary>
    public uint VsockPort { get; init; } = DefaultVsockPort;
}

/// <summary>Serial numbers the host gives the virtio-blk disks; the init finds disks by them, not by order.</summary>
public sealed record DiskSerials
{
    /// <summary>The config disk is found before the config is read, so its serial is fixed.</summary>
    public const string Config = "vmps-config";

    public string Rootfs { get; init; } = "vmps-rootfs";

    public string Overlay { get; init; } = "vmps-overlay";
}

public static class RootfsFilesystems
{
    public const string Erofs = "erofs";
    public const string Ext4 = "ext4";
}
