using System.Text.Json;
using Newtonsoft.Json.Converters;

namespace VmPs.Core.Images;

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum ImageFormat
{
    Erofs,
    Ext4,

    /// <summary>A disk image's base (kind Disk) in QEMU's copy-on-write format.</summary>
    Qcow2,

    /// <summary>A disk image's base (kind Disk), byte for byte the guest's disk.</summary>
    Raw,
}

/// <summary>What an image holds: a root filesystem booted directly, or a whole disk with its own bootloader.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum ImageKind
{
    /// <summary>An OCI image's root filesystem, booted by VmPs's kernel and init.</summary>
    Oci,

    /// <summary>A disk (a cloud image) with partitions, bootloader, kernel and init of its own, booted through firmware.</summary>
    Disk,
}

/// <summary>The firmware a disk image boots through.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum ImageFirmware
{
    /// <summary>UEFI (OVMF on QEMU).</summary>
    Uefi,

    /// <summary>A legacy BIOS (SeaBIOS on QEMU).</summary>
    Bios,
}

/// <summary>How the guest init starts the image: run its command as a child, or hand over to systemd.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum ImageInitMode
{
    Exec,
    Systemd,
}

/// <summary>The runtime settings an image carries (the OCI image config's subset VmPs uses).</summary>
public sealed record ImageConfig
{
    public IReadOnlyList<string> Entrypoint { get; init => field = DisplayList.Of(value); } = DisplayList.Of<string>([]);

    public IReadOnlyList<string> Cmd { get; init => field = DisplayList.Of(value); } = DisplayList.Of<string>([]);

    /// <summary>NAME=value entries, as in the OCI config.</summary>
    public IReadOnlyList<string> Env { get; init => field = DisplayList.Of(value); } = DisplayList.Of<string>([]);

    public string? WorkingDirectory { get; init; }

    public string? User { get; init; }

    /// <summary>Ports the image declares, as "80/tcp".</summary>
    public IReadOnlyList<string> ExposedPorts { get; init => field = DisplayList.Of(value); } = DisplayList.Of<string>([]);

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The signal that stops the image's command (for example SIGTERM); null for the default.</summary>
    public string? StopSignal { get; init; }

    /// <summary>The config as compact JSON: how it reads in an Export-Csv cell, rather than a record's member types.</summary>
    public override string ToString() => JsonSerializer.Serialize(this);
}

/// <summary>A bootable root filesystem in the image store (Get-VmImage's VmPs.VmImage objects).</summary>
public sealed record ImageInfo
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Where it came from: a registry reference, a path, or builtin:NAME.</summary>
    public required string Reference { get; init; }

    public required string Digest { get; init; }

    public string? Platform { get; init; }

    public required ImageFormat Format { get; init; }

    public required string RootfsPath { get; init; }

    public required long SizeBytes { get; init; }

    public required ImageInitMode InitMode { get; init; }

    public required ImageConfig Config { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The owning user's name; null: the administrator. A new image names its owner here, resolved when it is stored.</summary>
    public string? Owner { get; init; }

    public ImageKind Kind { get; init; } = ImageKind.Oci;

    /// <summary>The firmware a disk image boots through; null for an OCI image.</summary>
    public ImageFirmware? Firmware { get; init; }

    /// <summary>The size of the disk the guest sees (a disk image's); null for an OCI image.</summary>
    public long? VirtualSizeBytes { get; init; }
}

/// <summary>How New-VmImage stores an image.</summary>
public sealed record ImageAddOptions
{
    /// <summary>The image's name; null derives it from the source reference (see <see cref="ImageNames"/>).</summary>
    public string? Name { get; init; }

    public ImageFormat Format { get; init; } = ImageFormat.Erofs;

    /// <summary>Overrides the init mode detected from the image's command.</summary>
    public ImageInitMode? InitMode { get; init; }

    /// <summary>Replace an image of the same name (refused while VMs use it).</summary>
    public bool Force { get; init; }

    /// <summary>The user who owns the image (New-VmImage -Owner); null: the administrator.</summary>
    public string? Owner { get; init; }
}

/// <summary>How New-VmImage imports a disk image (a cloud image in qcow2 or raw).</summary>
public sealed record DiskImageAddOptions
{
    /// <summary>The qcow2 or raw file to import.</summary>
    public required string Path { get; init; }

    public required string Name { get; init; }

    public ImageFirmware Firmware { get; init; } = ImageFirmware.Uefi;

    /// <summary>Replace an image of the same name (refused while VMs use it).</summary>
    public bool Force { get; init; }
}
