using System.Globalization;

namespace VmPs.Protocol.Metering;

/// <summary>
/// The guest kernel's view of its memory, from its /proc/meminfo ("MemTotal:  502392 kB" lines): read by the agent
/// for Measure-Vm. The host never trusts the figures: it validates them against the VM's configured memory.
/// </summary>
public static class MemInfo
{
    /// <summary>How much of /proc/meminfo the agent reads (the kernel's is under 2 KiB).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>MemTotal and MemAvailable in bytes; null for one that is missing or malformed.</summary>
    public static (long? TotalBytes, long? AvailableBytes) Parse(string text)
    {
        long? total = null;
        long? available = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            switch (line[..colon])
            {
                case "MemTotal":
                    total = Kibibytes(line[(colon + 1)..]);
                    break;
                case "MemAvailable":
                    available = Kibibytes(line[(colon + 1)..]);
                    break;
            }
        }

        return (total, available);
    }

    /// <summary>Reads at most <see cref="MaxBytes"/> of <paramref name="path"/> (a /proc file reports no length).</summary>
    public static (long? TotalBytes, long? AvailableBytes) Read(string path = "/proc/meminfo")
    {
        try
        {
            using var file = File.OpenRead(path);
            var buffer = new byte[MaxBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = file.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }

            return Parse(System.Text.Encoding.ASCII.GetString(buffer, 0, length));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
    }

    private static long? Kibibytes(string value)
    {
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is [var number, "kB"]
            && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kib)
            && kib <= long.MaxValue / 1024
                ? kib * 1024
                : null;
    }
}
