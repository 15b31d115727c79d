using VmPs.Core.Boot;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;

namespace VmPs.Core.Shares;

/// <summary>
/// One virtiofsd per host directory share, part of its VM's lifecycle: started by the driver just before the
/// hypervisor (which connects to its vhost-user socket), ended with it. Each is a detached child recorded in a pid file
/// in the VM directory the moment it exists, so a stop, a failed start, a settled dead session or the next read after
/// a hypervisor crash ends it (<see cref="End"/>, through VmFiles.DeleteRuntimeFiles), and only while
/// ProcessProbe.IsDetachedFor holds (PID and start time, a session leader working in the VM's directory with an argument
/// naming it; its sandbox child dies with it). virtiofsd also exits by itself once the hypervisor
/// closes its socket. A read-only share's virtiofsd runs on a read-only bind of the directory in a mount namespace of
/// its own (<c>vmps-guest bind-readonly</c>), so the host's kernel refuses writes whatever the guest sends; QEMU 7.2's
/// virtiofsd has no read-only option.
/// </summary>
internal static class VirtioFsDaemons
{
    /// <summary>Where qemu-system-common (Debian 12, QEMU 7.2) installs virtiofsd.</summary>
    public const string DefaultPath = "/usr/lib/qemu/virtiofsd";

    private const string PidFileSuffix = ".virtiofsd.pid";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadyPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    /// <summary>The vhost-user socket the share's virtiofsd serves and the hypervisor connects to.</summary>
    public static string SocketPath(string vmDirectory, ShareSpec share) => Path.Combine(vmDirectory, share.Tag + ".sock");

    /// <summary>
    /// Starts a virtiofsd for each share of <paramref name="spec"/>, its output into <paramref name="output"/>, and
    /// returns once each serves its socket. One a killed start left is ended first; on failure none is left running.
    /// </summary>
    public static void Start(VmLaunchSpec spec, string output, string executable = DefaultPath)
    {
        End(spec.VmDirectory);
        if (spec.Shares.Count == 0)
        {
            return;
        }

        if (!File.Exists(executable))
        {
            throw new VmPsException(
                VmPsErrorIds.ExecutableNotFound,
                VmPsErrorKind.NotInstalled,
                $"VM '{spec.VmName}' has host directory shares, which need virtiofsd, and '{executable}' does not exist.",
                executable)
            {
                RecommendedAction = "Install qemu-system-common (apt-get install qemu-system-common).",
            };
        }

        try
        {
            foreach (var share in spec.Shares)
            {
                var socket = SocketPath(spec.VmDirectory, share);
                File.Delete(socket);
                var (program, arguments) = CommandLine(executable, share, socket);
                var daemon = DetachedProcess.Start(program, arguments, output, spec.VmDirectory, PidFilePath(spec.VmDirectory, share.Tag));
                WaitForSocket(spec, share, daemon, socket);
            }
        }
        catch
        {
            End(spec.VmDirectory);
            throw;
        }
    }

    /// <summary>
    /// The program and arguments of one share's virtiofsd. cache=none: every lookup and read goes to the host file, so
    /// a change on either side is seen on the other at once. A read-only share starts it through the read-only bind.
    /// </summary>
    internal static (string Program, IReadOnlyList<string> Arguments) CommandLine(string executable, ShareSpec share, string socket)
    {
        string[] daemon = [$"--socket-path={socket}", "-o", $"source={EscapeOption(share.HostPath)}", "-o", "cache=none", "-o", "sandbox=namespace"];
        return share.ReadOnly
            ? (GuestBinary.Locate(), ["bind-readonly", share.HostPath, "--", executable, .. daemon])
            : (executable, daemon);
    }

    /// <summary>
    /// Starts the shares' virtiofsd (<see cref="Start"/>), then the hypervisor through <paramref name="launch"/>; a launch
    /// that fails ends them.
    /// </summary>
    public static ProcessIdentity Launch(VmLaunchSpec spec, string output, Func<ProcessIdentity> launch)
    {
        Start(spec, output);
        try
        {
            return launch();
        }
        catch
        {
            End(spec.VmDirectory);
            throw;
        }
    }

    /// <summary>
    /// Ends each virtiofsd of the VM in <paramref name="directory"/> that is still running and removes its pid file and
    /// socket. It is killed at once: it answers each guest request only after the host file system has it, so nothing is
    /// lost once the hypervisor is gone (and before that, the guest's view of the share goes with the hypervisor).
    /// </summary>
    public static void End(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var pidFile in Directory.EnumerateFiles(directory, "*" + PidFileSuffix))
        {
            if (PidFile.Read(pidFile) is { } daemon && ProcessProbe.IsDetachedFor(daemon, directory))
            {
                ProcessProbe.KillAsync(daemon, KillWait, CancellationToken.None).GetAwaiter().GetResult();
            }

            var tag = Path.GetFileName(pidFile)[..^PidFileSuffix.Length];
            File.Delete(Path.Combine(directory, tag + ".sock"));
            File.Delete(pidFile);
        }
    }

    private static string PidFilePath(string directory, string tag) => Path.Combine(directory, tag + PidFileSuffix);

    private static void WaitForSocket(VmLaunchSpec spec, ShareSpec share, ProcessIdentity daemon, string socket)
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (!Storage.UnixFileType.IsSocket(socket))
        {
            if (!ProcessProbe.IsRunning(daemon) || DateTime.UtcNow > deadline)
            {
                throw new VmPsException(
                    VmPsErrorIds.ShareDaemonFailed,
                    VmPsErrorKind.ResourceUnavailable,
                    $"virtiofsd for the share of '{share.HostPath}' in VM '{spec.VmName}' did not serve '{socket}' within {ReadyTimeout.TotalSeconds:0} s; see Get-VmLog -Hypervisor.",
                    share.HostPath);
            }

            Thread.Sleep(ReadyPoll);
        }
    }

    /// <summary>virtiofsd's -o takes comma-separated options; a comma or backslash in a value is escaped with a backslash.</summary>
    private static string EscapeOption(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal);
}
