using System.Globalization;
using VmPs.Core.Native;
using VmPs.Protocol.Files;

namespace VmPs.Core.Processes;

/// <summary>Liveness checks on host processes by PID and start time, read from /proc.</summary>
public static class ProcessProbe
{
    private const int SignalKill = 9;
    private const int SignalTerm = 15;
    private const int SignalStop = 19;

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
    /// True when the process runs (PID and start time, as <see cref="IsRunning"/>) and is one that
    /// <see cref="DetachedProcess"/> started for the VM in <paramref name="directory"/>: a session leader working in that
    /// directory with an argument naming it. A process read from a file anyone in the VM directory could have written is
    /// killed only when it is VmPs's own, never a stranger whose PID happens to match, nor a user's
    /// <c>tail -f</c> of the VM's console log. A program that changes its directory (sshd moves to /) is recognised by
    /// the rest with <paramref name="staysInDirectory"/> false.
    /// </summary>
    public static bool IsDetachedFor(ProcessIdentity identity, string directory, bool staysInDirectory = true)
    {
        if (identity.StartTime == 0 || ReadStat(identity.Pid) is not { } stat || stat.SessionId != identity.Pid || !IsRunning(identity))
        {
            return false;
        }

        var pid = identity.Pid.ToString(CultureInfo.InvariantCulture);
        var trimmed = Path.TrimEndingDirectorySeparator(directory);
        byte[] commandLine;
        bool worksThere;
        try
        {
            // By inode, not by text: the directory's path may pass through a symbolic link that /proc/PID/cwd resolves.
            worksThere = !staysInDirectory || UnixFileSystem.TryGetStatus($"/proc/{pid}/cwd/.")?.Inode is { } inode && inode == UnixFileSystem.TryGetStatus(trimmed + "/.")?.Inode;
            commandLine = File.ReadAllBytes($"/proc/{pid}/cmdline");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FileOperationException)
        {
            return false;
        }

        return worksThere
            && System.Text.Encoding.UTF8.GetString(commandLine).Split('\0').Any(argument => argument.Contains(trimmed + "/", StringComparison.Ordinal))
            && IsRunning(identity);
    }

    /// <summary>
    /// The live processes <see cref="IsDetachedFor"/> recognises as started for <paramref name="directory"/>: a hypervisor
    /// spawned by a session that died before anything recorded it is found this way.
    /// </summary>
    public static List<ProcessIdentity> FindDetachedFor(string directory)
    {
        var found = new List<ProcessIdentity>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadStartTime(pid) is { } startTime
                && new ProcessIdentity(pid, startTime) is var identity
                && IsDetachedFor(identity, directory))
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

    /// <summary>Sends SIGSTOP: the process runs no further (nor forks) until it is killed or continued.</summary>
    public static void Freeze(ProcessIdentity identity)
    {
        if (IsRunning(identity))
        {
            _ = Libc.kill(identity.Pid, SignalStop);
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

    /// <summary>True once the process has stopped (SIGSTOP) or is gone: a stopped process starts no other.</summary>
    public static bool IsStoppedOrGone(ProcessIdentity identity) =>
        !IsRunning(identity) || ReadStat(identity.Pid)?.State is 'T' or 't' or null;

    /// <summary>The running children of <paramref name="pid"/>, by the parent each names in /proc.</summary>
    public static List<ProcessIdentity> ChildrenOf(int pid)
    {
        var children = new List<ProcessIdentity>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var child)
                && ReadStat(child) is { State: not ('Z' or 'X') } stat
                && stat.ParentPid == pid)
            {
                children.Add(new ProcessIdentity(child, stat.StartTime));
            }
        }

        return children;
    }

    /// <summary>The program a process runs (/proc/PID/exe), or null when it is gone.</summary>
    public static string? ProgramOf(int pid)
    {
        try
        {
            // A program replaced on disk since it started reads as "PATH (deleted)"; its processes still run the same program.
            return new FileInfo($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/exe").LinkTarget?.Replace(" (deleted)", "", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static (char State, int ParentPid, int SessionId, ulong StartTime)? ReadStat(int pid)
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
        // fields[0] is field 3 (state); field 4 (parent) is fields[1]; field 6 (session) is fields[3]; field 22 (starttime) is fields[19].
        if (fields.Length < 20)
        {
            return null;
        }

        return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture), ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }
}
