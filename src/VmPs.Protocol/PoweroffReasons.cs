namespace VmPs.Protocol;

/// <summary>The reason field of the poweroff console marker.</summary>
public static class PoweroffReasons
{
    public const string EntrypointExited = "entrypoint-exited";
    public const string ShutdownRequested = "shutdown-requested";
    public const string RebootRequested = "reboot-requested";
    public const string Terminated = "terminated";
    public const string PowerButton = "power-button";
    public const string InitFailed = "init-failed";

    /// <summary>The boot probe (kernel argument vmps.probe=1) finished.</summary>
    public const string Probe = "probe";

    /// <summary>
    /// Systemd mode: systemd powered the machine off, written by our shutdown hook; <paramref name="action"/> is
    /// what systemd-shutdown passes it (poweroff, reboot, halt or kexec).
    /// </summary>
    public static string Systemd(string action) => "systemd-" + action;
}
