namespace VmPs.Core.Images.Rootfs;

/// <summary>Decides whether an image boots systemd or runs its command under the VmPs init.</summary>
public static class InitModeDetector
{
    private static readonly HashSet<string> SystemdPrograms = new(StringComparer.Ordinal)
    {
        "/sbin/init",
        "/lib/systemd/systemd",
        "/usr/lib/systemd/systemd",
    };

    /// <summary>Systemd when the effective command's program (entrypoint, else cmd) is an init; otherwise exec.</summary>
    public static ImageInitMode Detect(IReadOnlyList<string> entrypoint, IReadOnlyList<string> cmd)
    {
        var program = entrypoint.Count > 0 ? entrypoint[0] : cmd.Count > 0 ? cmd[0] : null;
        return program is not null && (SystemdPrograms.Contains(program) || program.EndsWith("/init", StringComparison.Ordinal))
            ? ImageInitMode.Systemd
            : ImageInitMode.Exec;
    }
}
