using System.Globalization;
using VmPs.Core.Native;

namespace VmPs.Core.Processes;

/// <summary>Liveness checks on host processes by PID and start time, read from /proc.</summary>
public static class ProcessProbe
{
    private const int SignalKill = 9;
    private const int SignalTerm = 15;

    /// <summary>
    /// True while the process runs. A zombie counts as dead (DetachedProcess reaps its own children);
    /// a different process that reused the PID counts as dead too.
    /// </summary>
    public static bool IsRunning(ProcessIdentity identity)
    {
        var stat = ReadStat(identity.Pid);
        if (stat is null)
        {
            return false;
        }

        if (stat.Value.State is 'Z' or 'X')
        {
            return false;
        }

        return identity.StartTime == 0 || stat.Value.StartTime == identity.StartTime;
    }

    public static ulong? ReadStartTime(int pid) => ReadStat(pid)?.StartTime;

    /// <summary>
    /// True when the process runs (PID and start time, as <see cref="IsRunning"/>) and one of its arguments contains
    /// <paramref name="text"/>: a process read from a file anyone in the VM directory could have written is killed only
    /// when it is the hypervisor of that directory, never a stranger whose PID happens to match.
    /// </summary>
    public static bool IsRunningWithArgument(ProcessIdentity identity, string text)
    {
        if (identity.StartTime == 0 || !IsRunning(identity))
        {
            return false;
        }

        byte[] commandLine;
        try
        {
            commandLine = File.ReadAllBytes($"/proc/{identity.Pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return System.Text.Encoding.UTF8.GetString(commandLine).Split('\0').Any(argument => argument.Contains(text, StringComparison.Ordinal))
            && IsRunning(identity);
    }

    /// <summary>
    /// The live processes one of whose arguments contains <paramref name="text"/>: a hypervisor spawned by a session that
    /// died before anything recorded it is found by the VM directory its command line names.
    /// </summary>
    public static List<ProcessIdentity> FindWithArgument(string text)
    {
        var found = new List<ProcessIdentity>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadStartTime(pid) is { } startTime
                && new ProcessIdentity(pid, startTime) is var identity
                && IsRunningWithArgument(identity, text))
            {
                found.Add(identity);
            }
        }

        return found;
    }

    /// <summary>This process, as rows that a dead session must be recognised by record it.</summary>
    public static ProcessIdentity Current()
    {
        var pid = Environment.ProcessId;
        return new ProcessIdentity(pid, ReadStartTime(pid) ?? 0);
    }

    /// <summary>Sends SIGKILL and waits (bounded) until the process is gone.</summary>
    public static async Task KillAsync(ProcessIdentity identity, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!IsRunning(identity))
        {
            return;
        }

        _ = Libc.kill(identity.Pid, SignalKill);
        await WaitForExitAsync(identity, wait, cancellationToken).ConfigureAwait(false);
    }

    public static void Terminate(ProcessIdentity identity)
    {
        if (IsRunning(identity))
        {
            _ = Libc.kill(identity.Pid, SignalTerm);
        }
    }

    /// <summary>Polls until the process has exited; returns false when the wait ran out first.</summary>
    public static async Task<bool> WaitForExitAsync(ProcessIdentity identity, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        while (IsRunning(identity))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static (char State, ulong StartTime)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
        var afterName = text.LastIndexOf(')');
        if (afterName < 0)
        {
            return null;
        }

        var fields = text[(afterName + 2)..].Split(' ');
        // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
        if (fields.Length < 20)
        {
            return null;
        }

        return (fields[0][0], ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }
}
