namespace VmPs.Core.Images;

public enum ImageFormat
{
    Erofs,
    Ext4,
}

/// <summary>How the guest init starts the image: run its command as a child, or hand over to systemd.</summary>
public enum ImageInitMode
{
    Exec,
    Systemd,
}

/// <summary>The runtime settings an image carries (the OCI image config's subset VmPs uses).</summary>
public sealed record ImageConfig
{
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>NAME=value entries, as in the OCI config.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    public string? WorkingDirectory { get; init; }

    public string? User { get; init; }

    /// <summary>Ports the image declares, as "80/tcp".</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The signal that stops the image's command (for example SIGTERM); null for the default.</summary>
    public string? StopSignal { get; init; }
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

    public IReadOnlyList<string> Entrypoint => Config.Entrypoint;

    public IReadOnlyList<string> Cmd => Config.Cmd;
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
