using VmPs.Protocol.Config;

namespace VmPs.Protocol.Systemd;

/// <summary>
/// The .mount unit the guest writes in systemd mode for a volume or share it has mounted (the init before systemd
/// starts, the agent service after a hot-plug): a runtime unit in /run/systemd/system, so it lasts for this boot
/// only, enabled for local-fs.target by a link beside it. systemd finds the mount already in place and loads this
/// unit for it; it never has to mount it itself, which in an image without udev would wait for a device unit that
/// never comes up.
/// </summary>
public sealed record SystemdMountUnit(string Name, string Content)
{
    public const string Directory = "/run/systemd/system";

    private const string Target = "local-fs.target";

    public string UnitPath => PathOf(Name);

    public string WantsLinkPath => WantsLinkPathOf(Name);

    /// <summary>Where the unit named <paramref name="name"/> is written.</summary>
    public static string PathOf(string name) => $"{Directory}/{name}";

    /// <summary>The unit's "enable" link.</summary>
    public static string WantsLinkPathOf(string name) => $"{Directory}/{Target}.wants/{name}";

    /// <summary>
    /// The name of the unit for a mount at <paramref name="mountPath"/>, or null when systemd could not load one for
    /// it: a name longer than systemd's limit, or a path a unit file cannot hold as it is (a control character, or
    /// trailing blanks or a backslash, which systemd's parser strips or reads as a line continuation). Such a mount
    /// is still mounted; systemd knows it from /proc/self/mountinfo alone.
    /// </summary>
    public static string? NameFor(string mountPath)
    {
        var name = SystemdUnitName.FromPath(mountPath, ".mount");
        return name.Length <= SystemdUnitName.MaxLength && CanHold(mountPath) ? name : null;
    }

    /// <summary>The unit of a volume mounted from <paramref name="device"/>, with the options the guest mounts it with; null as for <see cref="NameFor"/>.</summary>
    public static SystemdMountUnit? ForVolume(GuestVolumeConfig volume, string device)
    {
        ArgumentNullException.ThrowIfNull(volume);
        if (volume.Filesystem is null)
        {
            throw new ArgumentException($"The raw volume at {volume.Path} is linked there, not mounted: it has no mount unit.", nameof(volume));
        }

        return Create($"VmPs volume {volume.Name}", device, volume.Path, volume.Filesystem, volume.ReadOnly ? "ro,noload" : "rw");
    }

    /// <summary>The unit of a virtio-fs share, mounted by its tag; null as for <see cref="NameFor"/>.</summary>
    public static SystemdMountUnit? ForShare(GuestShareConfig share)
    {
        ArgumentNullException.ThrowIfNull(share);
        return Create($"VmPs host directory share {share.Tag}", share.Tag, share.Path, "virtiofs", share.ReadOnly ? "ro" : "rw");
    }

    private static SystemdMountUnit? Create(string description, string what, string where, string type, string options)
    {
        if (NameFor(where) is not { } name || !CanHold(description) || !CanHold(what) || !CanHold(type))
        {
            return null;
        }

        return new SystemdMountUnit(
            name,
            $"""
            # Mounted by VmPs before systemd loaded this unit; it lasts for this boot only.
            [Unit]
            Description={Literal(description)}
            Before={Target}

            [Mount]
            What={Literal(what)}
            Where={Literal(where)}
            Type={type}
            Options={options}

            [Install]
            WantedBy={Target}

            """);
    }

    private static bool CanHold(string value) =>
        value.Length > 0 && !value.Any(char.IsControl) && !char.IsWhiteSpace(value[^1]) && !value.EndsWith('\\');

    /// <summary>systemd expands %-specifiers in these settings; '%%' is a literal '%'.</summary>
    private static string Literal(string value) => value.Replace("%", "%%", StringComparison.Ordinal);
}
