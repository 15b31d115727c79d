using System.Runtime.InteropServices;
using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Native;
using VmPs.Core.Processes;

namespace VmPs.Core.Logs;

/// <summary>
/// Keeps a VM's logs within a size cap while the guest writes, whether or not a VmPs command runs: the hypervisor
/// writes its consoles and its own output into named pipes in the VM directory, and a keeper process
/// (<c>vmps-guest keep-logs</c>) started just before it copies them into the log files, each at most
/// <see cref="MaxFileBytes"/> plus one rotated file of that size (PATH.1). The keeper ends by itself after its
/// hypervisor (it watches the launcher's pid file); its own pid file lets the stop wait for its last copy.
/// </summary>
internal static class VmLogKeeper
{
    /// <summary>The default cap of a log's current file; with the rotated one, a log takes at most twice this: 8 MiB.</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;

    public const string PidFileName = "logkeeper.pid";

    /// <summary>The keeper's stdout and stderr, in the VM's directory.</summary>
    public const string OwnLogName = "logkeeper.log";

    // NAME.out: a QEMU pipe chardev with path NAME writes NAME.out (and reads NAME.in), see QemuEventLog.
    private const string PipeExtension = ".out";
    private const int OpenWriteOnly = 0x1;
    private const int OpenNonBlocking = 0x800;
    private const int OpenCloseOnExec = 0x80000;
    private const int NoReader = 6;
    private const uint OwnerReadWrite = 0x180;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadyPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(3);

    /// <summary>The pipe the hypervisor writes in place of <paramref name="logPath"/>.</summary>
    public static string PipeOf(string logPath) => Path.ChangeExtension(logPath, PipeExtension);

    /// <summary>
    /// Starts the keeper, then the hypervisor through <paramref name="launch"/>, which is given the pipe for the
    /// hypervisor's own output. A launch that fails ends the keeper: none is left waiting for a hypervisor that never ran.
    /// </summary>
    public static ProcessIdentity Launch(VmLaunchSpec spec, Func<string, ProcessIdentity> launch)
    {
        Start(spec);
        try
        {
            return launch(PipeOf(spec.HypervisorLogPath));
        }
        catch
        {
            End(spec.VmDirectory);
            throw;
        }
    }

    /// <summary>
    /// Makes the pipes (0600) and starts the keeper, returning once it reads every pipe: the hypervisor's opens then
    /// never block. A keeper a killed start left (it would watch this start's hypervisor and write the same logs) is
    /// ended first: by its pid file, or, where the start died before writing that, by itself once its pipes are made
    /// anew here. Drivers start a keeper through <see cref="Launch"/>.
    /// </summary>
    internal static void Start(VmLaunchSpec spec)
    {
        End(spec.VmDirectory);
        var logs = spec.LogPaths.ToList();
        foreach (var log in logs)
        {
            MakePipe(PipeOf(log));
        }

        // The keeper's own output (why it ended, or could not start), this start's only: a few lines, never more.
        var ownLog = Path.Combine(spec.VmDirectory, OwnLogName);
        File.Delete(ownLog);
        var keeper = DetachedProcess.Start(
            GuestBinary.Locate(),
            ["keep-logs", "--max-bytes", spec.LogFileMaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--pid-file", spec.PidFilePath, .. logs.Select(log => $"{PipeOf(log)}={log}")],
            ownLog,
            spec.VmDirectory,
            Path.Combine(spec.VmDirectory, PidFileName));
        var deadline = DateTime.UtcNow + ReadyTimeout;
        foreach (var pipe in logs.Select(PipeOf))
        {
            while (!IsRead(pipe))
            {
                if (!ProcessProbe.IsRunning(keeper) || DateTime.UtcNow > deadline)
                {
                    ProcessProbe.KillAsync(keeper, ExitWait, CancellationToken.None).GetAwaiter().GetResult();
                    throw new VmPsException(
                        VmPsErrorIds.LogKeeperFailed,
                        VmPsErrorKind.ResourceUnavailable,
                        $"The log keeper of VM '{spec.VmName}' did not open '{pipe}' within {ReadyTimeout.TotalSeconds:0} s.",
                        spec.VmName);
                }

                Thread.Sleep(ReadyPoll);
            }
        }
    }

    /// <summary>
    /// After the hypervisor of the VM in <paramref name="directory"/> has stopped: waits for its keeper to copy what is
    /// left and exit (it does within a poll interval), kills one that does not, and removes its pid file, its own log and the pipes.
    /// </summary>
    public static void End(string directory)
    {
        var pidFile = Path.Combine(directory, PidFileName);
        if (PidFile.Read(pidFile) is { } keeper && ProcessProbe.IsDetachedFor(keeper, directory)
            && !ProcessProbe.WaitForExitAsync(keeper, ExitWait, CancellationToken.None).GetAwaiter().GetResult())
        {
            ProcessProbe.KillAsync(keeper, ExitWait, CancellationToken.None).GetAwaiter().GetResult();
        }

        File.Delete(pidFile);
        File.Delete(Path.Combine(directory, OwnLogName));
        if (Directory.Exists(directory))
        {
            foreach (var pipe in Directory.EnumerateFiles(directory, "*" + PipeExtension))
            {
                File.Delete(pipe);
            }
        }
    }

    private static void MakePipe(string path)
    {
        File.Delete(path);
        if (Libc.mkfifo(path, OwnerReadWrite) != 0 || Libc.chmod(path, OwnerReadWrite) != 0)
        {
            throw new VmPsException(
                VmPsErrorIds.LogKeeperFailed,
                VmPsErrorKind.ResourceUnavailable,
                $"Cannot make the pipe '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}.",
                path);
        }
    }

    /// <summary>A non-blocking open for writing fails with ENXIO exactly while no process has the pipe open for reading.</summary>
    private static bool IsRead(string pipe)
    {
        var fd = Libc.open(pipe, OpenWriteOnly | OpenNonBlocking | OpenCloseOnExec, 0);
        if (fd >= 0)
        {
            Libc.close(fd);
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        return error == NoReader ? false : throw new VmPsException(
            VmPsErrorIds.LogKeeperFailed,
            VmPsErrorKind.ResourceUnavailable,
            $"Cannot open the pipe '{pipe}': {Marshal.GetPInvokeErrorMessage(error)}.",
            pipe);
    }
}
