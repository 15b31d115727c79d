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
}
