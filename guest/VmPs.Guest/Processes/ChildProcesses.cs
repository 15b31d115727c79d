using System.Runtime.InteropServices;
using VmPs.Guest.Native;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Processes;

/// <summary>
/// Starts children and reaps every child of this process (as PID 1 that includes orphans), handing each
/// exit status to whoever started that pid. Spawn and registration happen under one lock, so an exit
/// reaped before the caller learned its pid still reaches the right owner.
/// </summary>
internal sealed unsafe class ChildProcesses
{
    private readonly object gate = new();
    private readonly Dictionary<int, Action<ChildExit>> owners = [];
    private readonly AutoResetEvent childStarted = new(false);
    private readonly ManualResetEventSlim noChildren = new(true);
    private long spawnCount;

    public void StartReaper()
    {
        new Thread(Reap) { IsBackground = true, Name = "reaper" }.Start();
    }

    /// <summary>Starts a child; <paramref name="onExit"/> runs on the reaper thread when it ends.</summary>
    public int Spawn(SpawnOptions options, Action<ChildExit> onExit)
    {
        lock (gate)
        {
            var pid = SpawnNative(options);
            spawnCount++;
            noChildren.Reset();
            childStarted.Set();
            owners[pid] = onExit;
            return pid;
        }
    }

    /// <summary>Waits until this process has no children left (every descendant exited and was reaped).</summary>
    public bool WaitUntilNoChildren(TimeSpan timeout) => noChildren.Wait(timeout);

    private void Reap()
    {
        while (true)
        {
            long spawnsBeforeWait;
            lock (gate)
            {
                spawnsBeforeWait = spawnCount;
            }

            int status;
            var pid = Libc.waitpid(-1, &status, 0);
            if (pid > 0)
            {
                Dispatch(pid, ChildExit.FromWaitStatus(status));
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ECHILD)
            {
                lock (gate)
                {
                    if (spawnCount == spawnsBeforeWait)
                    {
                        noChildren.Set();
                    }
                }

                childStarted.WaitOne();
            }
        }
    }

    private void Dispatch(int pid, ChildExit exit)
    {
        Action<ChildExit>? owner;
        lock (gate)
        {
            if (!owners.Remove(pid, out owner))
            {
                // Spawn registers the pid under this lock before we can get here, so an unowned pid
                // is an orphan reparented to PID 1, or the child of a spawn that failed before exec.
                return;
            }
        }

        owner(exit);
    }

    private static int SpawnNative(SpawnOptions options)
    {
        using var strings = new NativeStrings();
        var groups = options.Identity?.Groups.ToArray() ?? [];
        fixed (uint* groupsPointer = groups)
        {
            var args = new NativeMethods.SpawnArgs
            {
                Path = strings.Add(options.ExecutablePath),
                Argv = strings.AddArray(options.Argv),
                Envp = strings.AddArray(options.Environment),
                Cwd = options.WorkingDirectory is null ? null : strings.Add(options.WorkingDirectory),
                StdinFd = options.StdinFd,
                StdoutFd = options.StdoutFd,
                StderrFd = options.StderrFd,
                NewSession = 1,
                ControllingTty = options.ControllingTerminal ? 1 : 0,
                SetIds = options.Identity is null ? 0 : 1,
                Uid = options.Identity?.Uid ?? 0,
                Gid = options.Identity?.Gid ?? 0,
                GroupCount = groups.Length,
                Groups = groupsPointer,
            };
            var pid = NativeMethods.Spawn(&args, out var step);
            return pid > 0 ? pid : throw SpawnFailure(options, (NativeMethods.SpawnStep)step, -pid);
        }
    }

    private static GuestException SpawnFailure(SpawnOptions options, NativeMethods.SpawnStep step, int errno) => step switch
    {
        NativeMethods.SpawnStep.Exec when errno == Libc.ENOENT =>
            new GuestException(ErrorCodes.CommandNotFound, $"Cannot execute '{options.ExecutablePath}': {Libc.ErrorText(errno)}."),
        NativeMethods.SpawnStep.ChangeDirectory =>
            new GuestException(ErrorCodes.ExecFailed, $"Cannot change to working directory '{options.WorkingDirectory}': {Libc.ErrorText(errno)}."),
        0 => new GuestException(ErrorCodes.ExecFailed, $"Cannot fork to run '{options.ExecutablePath}': {Libc.ErrorText(errno)}."),
        _ => new GuestException(ErrorCodes.ExecFailed, $"Cannot run '{options.ExecutablePath}': step {step} failed: {Libc.ErrorText(errno)}."),
    };

    /// <summary>NUL-terminated UTF-8 copies of managed strings, freed together.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> allocations = [];

        public byte* Add(string value)
        {
            var pointer = Marshal.StringToCoTaskMemUTF8(value);
            allocations.Add(pointer);
            return (byte*)pointer;
        }

        public byte** AddArray(IReadOnlyList<string> values)
        {
            var array = (byte**)Marshal.AllocCoTaskMem((values.Count + 1) * sizeof(nint));
            allocations.Add((nint)array);
            for (var i = 0; i < values.Count; i++)
            {
                array[i] = Add(values[i]);
            }

            array[values.Count] = null;
            return array;
        }

        public void Dispose()
        {
            allocations.ForEach(Marshal.FreeCoTaskMem);
        }
    }
}
