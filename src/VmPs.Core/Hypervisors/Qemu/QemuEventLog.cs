using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.State;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// QEMU's QMP events of one run, the record of how it ended that outlives it: a second monitor on a pipe chardev
/// (path BASE: QEMU reads BASE.in and writes BASE.out) writes them into the log keeper's pipe, so they land in a
/// size-capped log whatever the guest makes QEMU report. BASE.in is a file holding qmp_capabilities, without which a
/// monitor sends no events; its end of file closes only the input, the negotiated monitor keeps writing.
/// </summary>
internal static class QemuEventLog
{
    private const string BaseName = "qmp-events";
    private const string ShutdownEvent = "SHUTDOWN";

    /// <summary>The <see cref="ShutdownReason"/> of a guest that powered off.</summary>
    public const string GuestShutdownReason = "guest-shutdown";

    public static string LogPath(string vmDirectory) => Path.Combine(vmDirectory, BaseName + ".log");

    /// <summary>
    /// Empties the log of a run about to start (the last run's events must not speak for it) and writes the monitor's
    /// input, both 0600.
    /// </summary>
    public static void Prepare(string vmDirectory)
    {
        var log = LogPath(vmDirectory);
        File.Delete(Protocol.Logs.RotatingLogFile.RotatedPath(log));
        PrivateFiles.OpenHandle(log, FileMode.Create, FileAccess.Write).Dispose();
        using var input = PrivateFiles.Open(Path.ChangeExtension(log, ".in"), FileMode.Create, FileAccess.Write);
        input.Write("{\"execute\":\"qmp_capabilities\"}\n"u8);
    }

    /// <summary>The -chardev and -mon arguments of the event monitor writing <paramref name="logPath"/>'s pipe (VmLogKeeper.PipeOf: BASE.out).</summary>
    public static IEnumerable<string> Arguments(string logPath, Func<string, string> escape) =>
        ["-chardev", $"pipe,id=events,path={escape(Path.ChangeExtension(logPath, null))}", "-mon", "chardev=events,mode=control"];

    /// <summary>How the run whose events are in <paramref name="vmDirectory"/> ended: the reason of its last SHUTDOWN event.</summary>
    public static HypervisorExit ReadExit(string vmDirectory) =>
        ShutdownReason(Logs.LogTail.ReadText(LogPath(vmDirectory))) is { } reason
            ? new HypervisorExit(reason == GuestShutdownReason, $"QEMU recorded its shutdown as {reason}.")
            : HypervisorExit.Unrecorded;

    /// <summary>
    /// The reason of the last SHUTDOWN event in <paramref name="text"/>, the end of a run's log: guest-shutdown when the
    /// guest powered off (ACPI), guest-reset when a direct-boot guest rebooted (QEMU runs it with -no-reboot; a
    /// firmware-booted machine resets in place, with a RESET event only), guest-panic,
    /// host-signal, host-qmp-quit...; null when QEMU wrote none (killed outright, or crashed).
    /// </summary>
    public static string? ShutdownReason(string text)
    {
        foreach (var line in Enumerable.Reverse(text.Split('\n')))
        {
            if (Parse(line) is { } message && message["event"] is JsonValue name && name.TryGetValue(out string? value) && value == ShutdownEvent)
            {
                return message["data"]?["reason"] is JsonValue reason && reason.TryGetValue(out string? why) ? why : null;
            }
        }

        return null;
    }

    private static JsonObject? Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
