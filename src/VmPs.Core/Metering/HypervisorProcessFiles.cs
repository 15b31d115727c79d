using System.Globalization;
using VmPs.Core.Native;
using VmPs.Core.Processes;

namespace VmPs.Core.Metering;

/// <summary>
/// Files of a VM's hypervisor process under /proc, read only while the recorded process (PID and start time) runs
/// before and after the read, so a PID reused by another process is never measured in its place.
/// </summary>
public static class HypervisorProcessFiles
{
    private const int SysconfClockTicks = 2; // _SC_CLK_TCK: the unit of /proc/PID/stat's CPU times

    /// <summary>The hypervisor's /proc/PID/net/dev: the interfaces of the network namespace it runs in, the VM's TAP among them; null when it is gone.</summary>
    public static string? ReadNetDev(ProcessIdentity process) => Read(process, "net/dev");

    /// <summary>The hypervisor's CPU time and resident memory; null when it is gone.</summary>
    public static ProcessUsage? ReadUsage(ProcessIdentity process) =>
        Read(process, "stat") is { } stat ? ProcessUsage.Parse(stat, Libc.sysconf(SysconfClockTicks), Environment.SystemPageSize) : null;

    private static string? Read(ProcessIdentity process, string file)
    {
        if (!ProcessProbe.IsRunning(process))
        {
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText($"/proc/{process.Pid.ToString(CultureInfo.InvariantCulture)}/{file}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return ProcessProbe.IsRunning(process) ? text : null;
    }
}
