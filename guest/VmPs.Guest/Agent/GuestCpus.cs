namespace VmPs.Guest.Agent;

/// <summary>
/// vCPUs the hypervisor hot-added (Set-Vm -Cpus on a running VM) appear offline: the kernel onlines hot-added CPUs
/// only when userspace asks, which a distribution's udev rule does and a VmPs guest, without udev, does here.
/// </summary>
internal static class GuestCpus
{
    private const string Root = "/sys/devices/system/cpu";

    /// <summary>Writes 1 to each offline vCPU's online file; returns how many are online then.</summary>
    public static int OnlineAll()
    {
        var online = 0;
        foreach (var cpu in Directory.EnumerateDirectories(Root, "cpu*"))
        {
            var name = Path.GetFileName(cpu);
            if (name.Length <= 3 || name.AsSpan(3).ContainsAnyExceptInRange('0', '9'))
            {
                continue;
            }

            // The boot CPU usually has no online file: it cannot go offline.
            var state = Path.Combine(cpu, "online");
            if (File.Exists(state) && File.ReadAllText(state).Trim() == "0")
            {
                File.WriteAllText(state, "1");
            }

            if (!File.Exists(state) || File.ReadAllText(state).Trim() == "1")
            {
                online++;
            }
        }

        return online;
    }
}
