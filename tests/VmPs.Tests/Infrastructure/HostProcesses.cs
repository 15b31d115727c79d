using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>Live host processes, for tests that check nothing they started was left running.</summary>
public static class HostProcesses
{
    /// <summary>PIDs of live processes whose command line mentions <paramref name="text"/> (a leaked hypervisor or build tool would).</summary>
    public static List<int> Mentioning(string text)
    {
        var pids = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(text, StringComparison.Ordinal) && ProcessProbe.IsRunning(new ProcessIdentity(pid, 0)))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while we looked.
            }
        }

        return pids;
    }
}
