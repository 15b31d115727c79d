using System.Text.Json.Nodes;

namespace VmPs.Core.Metering;

/// <summary>Bytes a VM's disks have read and written since its hypervisor started, summed over its disks.</summary>
public sealed record DiskCounters(long ReadBytes, long WrittenBytes)
{
    /// <summary>
    /// From QEMU's query-blockstats answer: one entry per block device, each with stats.rd_bytes and stats.wr_bytes.
    /// Null when the answer is not of that shape.
    /// </summary>
    public static DiskCounters? FromQemuBlockStats(JsonNode? answer)
    {
        if (answer is not JsonArray devices)
        {
            return null;
        }

        long read = 0;
        long written = 0;
        foreach (var device in devices)
        {
            if (Counter(device?["stats"]?["rd_bytes"]) is not { } deviceRead || Counter(device?["stats"]?["wr_bytes"]) is not { } deviceWritten)
            {
                return null;
            }

            read = SaturatingAdd(read, deviceRead);
            written = SaturatingAdd(written, deviceWritten);
        }

        return new DiskCounters(read, written);
    }

    /// <summary>
    /// From Cloud Hypervisor's vm.counters: device id to counter name to value, where block devices count read_bytes
    /// and write_bytes (network devices count rx_bytes, tx_bytes and frames instead, and are left out).
    /// </summary>
    public static DiskCounters FromCloudHypervisorCounters(IReadOnlyDictionary<string, Dictionary<string, long>> counters)
    {
        long read = 0;
        long written = 0;
        foreach (var device in counters.Values)
        {
            if (device.TryGetValue("read_bytes", out var deviceRead) && device.TryGetValue("write_bytes", out var deviceWritten))
            {
                read = SaturatingAdd(read, Math.Max(0, deviceRead));
                written = SaturatingAdd(written, Math.Max(0, deviceWritten));
            }
        }

        return new DiskCounters(read, written);
    }

    private static long? Counter(JsonNode? value) =>
        value is JsonValue number && number.TryGetValue<long>(out var count) && count >= 0 ? count : null;

    private static long SaturatingAdd(long total, long value) => total > long.MaxValue - value ? long.MaxValue : total + value;
}
