using VmPs.Protocol;

namespace VmPs.Guest.Init;

/// <summary>
/// Run by systemd-shutdown just before the final reboot(2) (see SystemdAgentUnit.ShutdownHookPath): writes the
/// poweroff marker on the kernel console, as our own init does, so the host records a clean stop.
/// </summary>
internal static class SystemdShutdownHook
{
    public static int Run(string action)
    {
        try
        {
            File.WriteAllText("/dev/console", ConsoleMarkers.FormatPoweroff(PoweroffReasons.Systemd(action), null) + "\n");
            return 0;
        }
        catch (IOException error)
        {
            Console.Error.WriteLine($"vmps shutdown hook: {error.Message}");
            return 1;
        }
    }
}
