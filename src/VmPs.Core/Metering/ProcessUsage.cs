using System.Globalization;

namespace VmPs.Core.Metering;

/// <summary>A host process's CPU time (user and system) and resident memory, from its /proc/PID/stat.</summary>
public sealed record ProcessUsage(TimeSpan CpuTime, long ResidentBytes)
{
    // Fields counted from 3 (the state), after the parenthesized command name: utime 14, stime 15, rss 24 (pages).
    private const int UserTicksField = 14 - 3;
    private const int SystemTicksField = 15 - 3;
    private const int ResidentPagesField = 24 - 3;

    /// <summary>The usage in a /proc/PID/stat line; null when it is malformed.</summary>
    public static ProcessUsage? Parse(string stat, long ticksPerSecond, long pageSize)
    {
        // The command name may itself hold spaces or ')'.
        var afterName = stat.LastIndexOf(')');
        if (afterName < 0 || afterName + 2 > stat.Length || ticksPerSecond <= 0)
        {
            return null;
        }

        var fields = stat[(afterName + 2)..].Split(' ');
        if (fields.Length <= ResidentPagesField
            || !ulong.TryParse(fields[UserTicksField], NumberStyles.None, CultureInfo.InvariantCulture, out var userTicks)
            || !ulong.TryParse(fields[SystemTicksField], NumberStyles.None, CultureInfo.InvariantCulture, out var systemTicks)
            || !long.TryParse(fields[ResidentPagesField], NumberStyles.None, CultureInfo.InvariantCulture, out var residentPages)
            || residentPages > long.MaxValue / pageSize)
        {
            return null;
        }

        var ticks = userTicks + systemTicks;
        return new ProcessUsage(TimeSpan.FromTicks((long)(ticks * (decimal)TimeSpan.TicksPerSecond / ticksPerSecond)), residentPages * pageSize);
    }
}
