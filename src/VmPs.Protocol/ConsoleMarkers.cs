using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace VmPs.Protocol;

/// <summary>
/// Lines the guest init writes to the kernel console so the host can tell a clean poweroff from a crash.
/// Each marker is one line starting with "[vmps] ".
/// </summary>
public static class ConsoleMarkers
{
    /// <summary>First line of every boot: "[vmps] boot version=V".</summary>
    public const string Boot = "[vmps] boot";

    public const string AgentReady = "[vmps] agent-ready";

    /// <summary>Printed by the init in probe mode (kernel command line vmps.probe=1) just before it powers off.</summary>
    public const string ProbeOk = "[vmps] probe-ok";

    /// <summary>A fatal boot error: "[vmps] error: message".</summary>
    public const string Error = "[vmps] error:";

    /// <summary>Last line before power off: "[vmps] poweroff reason=R" plus " exit-code=N" when the app exited.</summary>
    public const string Poweroff = "[vmps] poweroff";

    /// <summary>The kernel command line switch for <see cref="ProbeOk"/>.</summary>
    public const string ProbeKernelArgument = "vmps.probe=1";

    public static string FormatBoot(string version) => $"{Boot} version={version}";

    public static string FormatError(string message) => $"{Error} {message}";

    public static string FormatPoweroff(string reason, int? exitCode) =>
        exitCode is { } code ? $"{Poweroff} reason={reason} exit-code={code}" : $"{Poweroff} reason={reason}";

    /// <summary>
    /// Finds the poweroff marker of the last boot in a console log. False when the last boot has none
    /// (the guest crashed, was killed, or is still running).
    /// </summary>
    public static bool TryParsePoweroff(string consoleText, [NotNullWhen(true)] out string? reason, out int? exitCode)
    {
        reason = null;
        exitCode = null;
        foreach (var line in LinesOfLastBoot(consoleText))
        {
            var at = line.IndexOf(Poweroff + " ", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            reason = null;
            exitCode = null;
            foreach (var field in line[(at + Poweroff.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (field.StartsWith("reason=", StringComparison.Ordinal))
                {
                    reason = field["reason=".Length..];
                }
                else if (field.StartsWith("exit-code=", StringComparison.Ordinal)
                    && int.TryParse(field["exit-code=".Length..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
                {
                    exitCode = code;
                }
            }
        }

        return !string.IsNullOrEmpty(reason);
    }

    /// <summary>The message of the last boot's "[vmps] error:" line, if any.</summary>
    public static string? LastError(string consoleText)
    {
        string? message = null;
        foreach (var line in LinesOfLastBoot(consoleText))
        {
            var at = line.IndexOf(Error, StringComparison.Ordinal);
            if (at >= 0)
            {
                message = line[(at + Error.Length)..].Trim();
            }
        }

        return message;
    }

    private static IEnumerable<string> LinesOfLastBoot(string consoleText)
    {
        var lines = consoleText.Split('\n');
        var first = Array.FindLastIndex(lines, line => line.Contains(Boot + " ", StringComparison.Ordinal));
        return lines.Skip(Math.Max(first, 0)).Select(line => line.TrimEnd('\r'));
    }
}
