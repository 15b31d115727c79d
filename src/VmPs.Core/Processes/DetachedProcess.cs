using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Processes;

/// <summary>
/// Identifies a process across PID reuse: the PID plus its start time in clock ticks since boot
/// (field 22 of /proc/PID/stat).
/// </summary>
public readonly record struct ProcessIdentity(int Pid, ulong StartTime);

/// <summary>
/// Starts hypervisor processes detached from the calling session (new session, stdin from
/// /dev/null, stdout and stderr appended to a log file), so VMs outlive the pwsh that started them.
/// </summary>
public static unsafe class DetachedProcess
{
    private const short PosixSpawnSetSigDef = 0x04;
    private const short PosixSpawnSetSigMask = 0x08;
    private const short PosixSpawnSetSid = 0x80;
    private const int InterruptedSystemCall = 4;
    private const int OpenReadOnly = 0x0;
    private const int OpenWriteOnly = 0x1;
    private const int OpenCreate = 0x40;
    private const int OpenAppend = 0x400;

    // Larger than glibc's posix_spawnattr_t (336 bytes), posix_spawn_file_actions_t (80) and sigset_t (128).
    private const int OpaqueStructSize = 1024;

    /// <summary>Crash point (see CrashPoint): the process exists, its pid file (named <paramref name="pidFileName"/>) not yet written.</summary>
    public static string CrashBeforeRecord(string pidFileName) => $"process spawned, {pidFileName} not yet written";

    /// <summary>Crash point (see CrashPoint): the process exists and its pid file is written.</summary>
    public static string CrashAfterSpawn(string pidFileName) => $"process spawned, {pidFileName} written";

    /// <param name="pidFile">
    /// Where to record the process (see <see cref="PidFile"/>) before this returns, for a caller that must find it again
    /// should this session die before it records the process itself.
    /// </param>
    public static ProcessIdentity Start(string executable, IReadOnlyList<string> arguments, string logFile, string workingDirectory, string? pidFile = null)
    {
        var path = ResolveExecutable(executable);
        var argv = new List<string> { path };
        argv.AddRange(arguments);
        var envp = Environment.GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .Select(entry => $"{entry.Key}={entry.Value}")
            .ToList();

        var allocations = new List<IntPtr>();
        var fileActions = Allocate(allocations, OpaqueStructSize);
        var attributes = Allocate(allocations, OpaqueStructSize);
        var signalSet = Allocate(allocations, OpaqueStructSize);
        try
        {
            Check(Libc.posix_spawn_file_actions_init(fileActions), "posix_spawn_file_actions_init");
            Check(Libc.posix_spawnattr_init(attributes), "posix_spawnattr_init");
            Check(Libc.posix_spawn_file_actions_addopen(fileActions, 0, "/dev/null", OpenReadOnly, 0), "addopen stdin");
            Check(Libc.posix_spawn_file_actions_addopen(fileActions, 1, logFile, OpenWriteOnly | OpenCreate | OpenAppend, 0x180), "addopen stdout");
            Check(Libc.posix_spawn_file_actions_adddup2(fileActions, 1, 2), "adddup2 stderr");
            Check(Libc.posix_spawn_file_actions_addchdir_np(fileActions, workingDirectory), "addchdir");

            Check(Libc.sigemptyset(signalSet), "sigemptyset");
            Check(Libc.posix_spawnattr_setsigmask(attributes, signalSet), "setsigmask");
            Check(Libc.sigfillset(signalSet), "sigfillset");
            Check(Libc.posix_spawnattr_setsigdefault(attributes, signalSet), "setsigdefault");
            Check(Libc.posix_spawnattr_setflags(attributes, PosixSpawnSetSid | PosixSpawnSetSigMask | PosixSpawnSetSigDef), "setflags");

            var argvPointer = ToNullTerminatedArray(allocations, argv);
            var envpPointer = ToNullTerminatedArray(allocations, envp);

            int pid;
            var error = Libc.posix_spawn(&pid, path, fileActions, attributes, argvPointer, envpPointer);
            if (error != 0)
            {
                throw new VmPsException(
                    VmPsErrorIds.ProcessStartFailed,
                    VmPsErrorKind.ResourceUnavailable,
                    $"Cannot start '{path}': {Marshal.GetPInvokeErrorMessage(error)}.",
                    path);
            }

            var identity = new ProcessIdentity(pid, ProcessProbe.ReadStartTime(pid) ?? 0);
            ReapWhenItExits(pid);
            if (pidFile is not null)
            {
                CrashPoint.Reach(CrashBeforeRecord(Path.GetFileName(pidFile)));
                RecordOrKill(pidFile, identity);
                CrashPoint.Reach(CrashAfterSpawn(Path.GetFileName(pidFile)));
            }
            return identity;
        }
        finally
        {
            Libc.posix_spawn_file_actions_destroy(fileActions);
            Libc.posix_spawnattr_destroy(attributes);
            foreach (var allocation in allocations)
            {
                Marshal.FreeHGlobal(allocation);
            }
        }
    }

    /// <summary>A process that cannot be recorded is not left running: nothing else would know to end it.</summary>
    private static void RecordOrKill(string pidFile, ProcessIdentity identity)
    {
        try
        {
            PidFile.Write(pidFile, identity);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ProcessProbe.KillAsync(identity, TimeSpan.FromSeconds(5), CancellationToken.None).GetAwaiter().GetResult();
            throw new VmPsException(
                VmPsErrorIds.ProcessStartFailed,
                VmPsErrorKind.ResourceUnavailable,
                $"Cannot record the process in '{pidFile}': {ex.Message}",
                pidFile,
                ex);
        }
    }

    /// <summary>
    /// The process stays our child while this session lives; without a wait it would linger as a
    /// zombie after it exits (and look alive to anyone probing its PID). A background thread blocks
    /// in waitpid for it; once this session ends, init adopts and reaps it instead.
    /// </summary>
    private static void ReapWhenItExits(int pid)
    {
        var reaper = new Thread(() =>
        {
            while (Libc.waitpid(pid, IntPtr.Zero, 0) == -1 && Marshal.GetLastPInvokeError() == InterruptedSystemCall)
            {
            }
        })
        {
            IsBackground = true,
            Name = $"vmps-reap-{pid}",
        };
        reaper.Start();
    }

    /// <summary>Finds an executable on PATH the way a shell would; absolute and relative paths pass through.</summary>
    public static string ResolveExecutable(string executable)
    {
        if (executable.Contains('/'))
        {
            return Path.GetFullPath(executable);
        }

        return FindOnPath(executable) ?? throw new VmPsException(
            VmPsErrorIds.ExecutableNotFound,
            VmPsErrorKind.NotInstalled,
            $"'{executable}' was not found on PATH.",
            executable);
    }

    /// <summary>The first executable file named <paramref name="executable"/> in <paramref name="searchPath"/> (default: $PATH).</summary>
    public static string? FindOnPath(string executable, string? searchPath = null)
    {
        searchPath ??= Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var directory in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate) && Libc.access(candidate, 1) == 0)
            {
                return candidate;
            }
        }

        return null;
    }

    private static IntPtr Allocate(List<IntPtr> allocations, int size)
    {
        var pointer = Marshal.AllocHGlobal(size);
        new Span<byte>((void*)pointer, size).Clear();
        allocations.Add(pointer);
        return pointer;
    }

    private static IntPtr ToNullTerminatedArray(List<IntPtr> allocations, IReadOnlyList<string> values)
    {
        var array = Allocate(allocations, (values.Count + 1) * IntPtr.Size);
        for (var i = 0; i < values.Count; i++)
        {
            var text = Marshal.StringToCoTaskMemUTF8(values[i]);
            allocations.Add(text);
            Marshal.WriteIntPtr(array, i * IntPtr.Size, text);
        }

        return array;
    }

    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new VmPsException(
                VmPsErrorIds.ProcessStartFailed,
                VmPsErrorKind.ResourceUnavailable,
                $"{operation} failed: {Marshal.GetPInvokeErrorMessage(result == -1 ? Marshal.GetLastPInvokeError() : result)}.");
        }
    }
}
