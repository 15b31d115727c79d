using System.Diagnostics;

namespace VmPs.Guest.Init;

/// <summary>Finds virtio-blk disks by serial number, polling sysfs until they appear (no fixed sleeps).</summary>
internal static class BlockDevices
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

    /// <summary>Returns the /dev path of each serial, or throws naming the missing ones once the deadline passes.</summary>
    public static IReadOnlyDictionary<string, string> WaitForSerials(IReadOnlyCollection<string> serials, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var found = Scan();
            if (serials.All(found.ContainsKey))
            {
                return found;
            }

            if (clock.Elapsed > timeout)
            {
                var missing = string.Join(", ", serials.Where(serial => !found.ContainsKey(serial)));
                var present = found.Count == 0 ? "none" : string.Join(", ", found.Select(pair => $"{pair.Value} ({pair.Key})"));
                throw new InitException(
                    $"No disk with serial {missing} appeared within {timeout.TotalSeconds:0} s (disks with a serial: {present}). " +
                    "The hypervisor must attach it as virtio-blk with that serial.");
            }

            Thread.Sleep(PollInterval);
        }
    }

    private static Dictionary<string, string> Scan()
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var block in Directory.EnumerateDirectories("/sys/block"))
        {
            var serialFile = Path.Combine(block, "serial");
            var device = "/dev/" + Path.GetFileName(block);
            if (File.Exists(serialFile) && File.Exists(device))
            {
                found.TryAdd(File.ReadAllText(serialFile).Trim(), device);
            }
        }

        return found;
    }
}
