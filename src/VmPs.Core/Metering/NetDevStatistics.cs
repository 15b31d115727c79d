using System.Globalization;

namespace VmPs.Core.Metering;

/// <summary>One interface's traffic counters as the host kernel counts them (its /proc/PID/net/dev line).</summary>
public sealed record InterfaceCounters(long ReceivedBytes, long ReceivedPackets, long SentBytes, long SentPackets)
{
    public long Packets => ReceivedPackets + SentPackets;
}

/// <summary>Reads /proc/net/dev's table: "name: rx bytes packets errs drop fifo frame compressed multicast tx bytes packets ...".</summary>
public static class NetDevStatistics
{
    private const int ReceivedBytesField = 0;
    private const int ReceivedPacketsField = 1;
    private const int SentBytesField = 8;
    private const int SentPacketsField = 9;

    /// <summary>The counters of <paramref name="interfaceName"/>, or null when the table has no such interface or its line is malformed.</summary>
    public static InterfaceCounters? Find(string table, string interfaceName)
    {
        foreach (var line in table.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !string.Equals(line[..colon].Trim(), interfaceName, StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length <= SentPacketsField
                || !TryCounter(fields[ReceivedBytesField], out var receivedBytes)
                || !TryCounter(fields[ReceivedPacketsField], out var receivedPackets)
                || !TryCounter(fields[SentBytesField], out var sentBytes)
                || !TryCounter(fields[SentPacketsField], out var sentPackets))
            {
                return null;
            }

            return new InterfaceCounters(receivedBytes, receivedPackets, sentBytes, sentPackets);
        }

        return null;
    }

    private static bool TryCounter(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
