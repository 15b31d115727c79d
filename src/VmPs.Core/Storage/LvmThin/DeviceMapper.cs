namespace VmPs.Core.Storage.LvmThin;

/// <summary>What the host shows of the kernel's device-mapper, which every LVM thin volume is built on.</summary>
/// <param name="ControlNode">/dev/mapper/control exists: the node through which libdevmapper talks to the driver.</param>
/// <param name="SysfsEntry">/sys/class/misc/device-mapper exists: the driver is registered.</param>
/// <param name="ProcMiscEntry">/proc/misc lists device-mapper.</param>
internal sealed record DeviceMapperStatus(bool ControlNode, bool SysfsEntry, bool ProcMiscEntry)
{
    /// <summary>The driver is loaded and its control node is reachable (a container may lack the node).</summary>
    public bool Available => ControlNode && (SysfsEntry || ProcMiscEntry);

    public string Describe() => string.Join(
        ", ",
        $"/dev/mapper/control {(ControlNode ? "exists" : "is missing")}",
        $"/sys/class/misc/device-mapper {(SysfsEntry ? "exists" : "is missing")}",
        $"/proc/misc {(ProcMiscEntry ? "lists" : "does not list")} device-mapper");
}

internal static class DeviceMapper
{
    /// <summary>Looks under <paramref name="root"/> ("/" on a host; tests give a directory of their own).</summary>
    public static DeviceMapperStatus Probe(string root = "/")
    {
        var procMisc = Path.Combine(root, "proc/misc");
        return new DeviceMapperStatus(
            File.Exists(Path.Combine(root, "dev/mapper/control")),
            Directory.Exists(Path.Combine(root, "sys/class/misc/device-mapper")),
            File.Exists(procMisc) && File.ReadLines(procMisc).Any(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, "device-mapper"]));
    }
}
