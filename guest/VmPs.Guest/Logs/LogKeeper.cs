using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using VmPs.Guest.Native;
using VmPs.Protocol.Files;
using VmPs.Protocol.Logs;

namespace VmPs.Guest.Logs;

/// <summary>
/// On the host, beside one hypervisor: copies what the hypervisor writes into named pipes (the guest's consoles, the
/// hypervisor's own output) into size-capped, rotated log files (<see cref="RotatingLogFile"/>), so a guest printing
/// forever cannot fill the host's disk. It holds each pipe open for reading and writing, so the hypervisor can open
/// and reopen them at any time without blocking, and ends once the hypervisor named by the launcher's pid file has
/// exited (after copying what is left), when none is recorded within <see cref="LaunchGrace"/>, or when a pipe's path
/// no longer names the pipe it reads.
/// </summary>
internal static unsafe class LogKeeper
{
    public const string Usage = "vmps-guest keep-logs --max-bytes N --pid-file PATH PIPE=LOG...";

    private const int O_RDWR = 2;
    private const int PollMilliseconds = 100;
    private const int ChunkBytes = 64 * 1024;
    private static readonly TimeSpan LaunchGrace = TimeSpan.FromSeconds(60);

    public static int Run(long maxBytes, string pidFile, IReadOnlyList<(string Pipe, string Log)> logs)
    {
        var fds = new Libc.PollFd[logs.Count];
        var files = new RotatingLogFile[logs.Count];
        var pipes = new (string Path, ulong Inode)[logs.Count];
        for (var index = 0; index < logs.Count; index++)
        {
            var fd = Libc.open(logs[index].Pipe, O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
            if (fd < 0)
            {
                Console.Error.WriteLine($"keep-logs: cannot open '{logs[index].Pipe}': {Libc.ErrorText(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
                return 1;
            }

            fds[index] = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
            files[index] = new RotatingLogFile(logs[index].Log, maxBytes);
            pipes[index] = (logs[index].Pipe, InodeOf(fd));
        }

        var hypervisor = new HypervisorWatch(pidFile, OwnStartTime());
        var buffer = new byte[ChunkBytes];
        var sinceCheck = Stopwatch.StartNew();
        while (true)
        {
            fixed (Libc.PollFd* pointer = fds)
            {
                Libc.poll(pointer, (nuint)fds.Length, PollMilliseconds);
            }

            for (var index = 0; index < fds.Length; index++)
            {
                if ((fds[index].ReturnedEvents & Libc.POLLIN) != 0)
                {
                    Copy(fds[index].Fd, files[index], buffer, once: true);
                }
            }

            if (sinceCheck.ElapsedMilliseconds >= PollMilliseconds)
            {
                sinceCheck.Restart();
                if ((hypervisor.EndReason() ?? ReplacedPipe(pipes)) is { } reason)
                {
                    // To the keeper's own log in the VM's directory: why the logs stopped, should a hypervisor outlive it.
                    Console.Error.WriteLine($"keep-logs: ending: {reason}");
                    for (var index = 0; index < fds.Length; index++)
                    {
                        Copy(fds[index].Fd, files[index], buffer, once: false);
                        files[index].Dispose();
                    }

                    return 0;
                }
            }
        }
    }

    /// <summary>Parses "--max-bytes N --pid-file PATH PIPE=LOG..."; null when the arguments are not that.</summary>
    public static int? Run(string[] arguments)
    {
        if (arguments is not ["keep-logs", "--max-bytes", var max, "--pid-file", var pidFile, .. var pairs]
            || !long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var maxBytes) || maxBytes < 1
            || pairs.Length == 0 || pairs.Any(pair => !pair.Contains('=')))
        {
            return null;
        }

        return Run(maxBytes, pidFile, pairs.Select(pair => (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..])).ToList());
    }

    private static void Copy(int fd, RotatingLogFile file, byte[] buffer, bool once)
    {
        do
        {
            nint read;
            fixed (byte* pointer = buffer)
            {
                read = Libc.read(fd, pointer, buffer.Length);
            }

            if (read <= 0)
            {
                return;
            }

            file.Write(buffer.AsSpan(0, (int)read));
        }
        while (!once);
    }

    private static ulong InodeOf(int fd) => UnixDirectoryCalls.GetStatus(new SafeFileHandle(fd, ownsHandle: false)).Inode;

    /// <summary>
    /// A pipe the path no longer names was removed or made anew by the next start of this VM: a keeper a killed start
    /// left must not watch that start's hypervisor and write its logs too.
    /// </summary>
    private static string? ReplacedPipe((string Path, ulong Inode)[] pipes) =>
        pipes.Where(pipe => UnixDirectoryCalls.TryGetStatus(UnixDirectoryCalls.CurrentDirectory, pipe.Path)?.Inode != pipe.Inode)
            .Select(pipe => $"'{pipe.Path}' no longer names the pipe it read")
            .FirstOrDefault();

    private static ulong OwnStartTime() => HypervisorWatch.StartTimeOf(Environment.ProcessId) ?? 0;

    /// <summary>
    /// The hypervisor as the launcher records it ("PID STARTTIME", written after this keeper started, so an older
    /// record is a previous run's and ignored): ended once that process is gone or the record removed.
    /// </summary>
    private sealed class HypervisorWatch(string pidFile, ulong notBefore)
    {
        private readonly Stopwatch sinceStart = Stopwatch.StartNew();
        private (int Pid, ulong StartTime)? seen;

        /// <summary>Why the keeper's hypervisor has ended; null while it runs or is still expected.</summary>
        public string? EndReason()
        {
            var recorded = Read();
            if (recorded is { } current && current.StartTime >= notBefore)
            {
                seen = current;
                return StartTimeOf(current.Pid) == current.StartTime ? null : $"the hypervisor (pid {current.Pid}) has exited";
            }

            return seen is { } last ? $"the record of the hypervisor (pid {last.Pid}) was removed"
                : sinceStart.Elapsed > LaunchGrace ? $"no hypervisor was recorded in '{pidFile}' within {LaunchGrace.TotalSeconds:0} s"
                : null;
        }

        private (int Pid, ulong StartTime)? Read()
        {
            try
            {
                var fields = File.ReadAllText(pidFile).Trim().Split(' ');
                return fields.Length == 2
                    && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    && ulong.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
                        ? (pid, startTime)
                        : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        /// <summary>Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces and parentheses).</summary>
        public static ulong? StartTimeOf(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}
