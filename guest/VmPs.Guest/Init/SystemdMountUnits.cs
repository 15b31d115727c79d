using VmPs.Guest.Native;
using VmPs.Guest.Processes;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Systemd;

namespace VmPs.Guest.Init;

/// <summary>
/// Systemd mode: writes and removes the runtime mount units (<see cref="SystemdMountUnit"/>) of the volumes and
/// shares the guest mounts, and has a running systemd load them again.
/// </summary>
internal static class SystemdMountUnits
{
    private const int Regular = 0x1A4; // 0644

    /// <summary>
    /// systemctl daemon-reload takes well under a second; a systemd that does not answer must not hold a volume
    /// request forever, and the volume request must answer within the host's 30 s reply timeout all the same.
    /// </summary>
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Writes the unit and its link in local-fs.target.wants; a mount systemd could not name (null) is logged and left without one.</summary>
    public static void Install(SystemdMountUnit? unit, string mountPath)
    {
        if (unit is null)
        {
            InitLog.Warning(InitLogPhases.Systemd, $"no mount unit for {mountPath}", "systemd cannot load a unit file for this path; it knows the mount from /proc/self/mountinfo only");
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(unit.WantsLinkPath)!);
        File.WriteAllText(unit.UnitPath, unit.Content);
        SystemCalls.Check(Libc.chmod(unit.UnitPath, Regular), $"chmod {unit.UnitPath}");
        File.Delete(unit.WantsLinkPath);
        File.CreateSymbolicLink(unit.WantsLinkPath, unit.UnitPath);
        InitLog.Info(InitLogPhases.Systemd, $"wrote the mount unit {unit.UnitPath}");
    }

    /// <summary>
    /// The agent service, after it mounted a hot-plugged volume: writes its unit and has systemd load it. The volume
    /// is mounted either way, so a failure here is logged, not returned.
    /// </summary>
    public static void AddAtRunTime(SystemdMountUnit? unit, string mountPath, ChildProcesses children, IReadOnlyList<string> environment)
    {
        try
        {
            Install(unit, mountPath);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or InitException)
        {
            InitLog.Warning(InitLogPhases.Systemd, $"writing the mount unit of {mountPath} failed", error.Message);
            return;
        }

        if (unit is not null)
        {
            Reload(children, environment);
        }
    }

    /// <summary>The agent service, after it unmounted a volume: removes the volume's unit and link, if it has them, and has systemd forget it.</summary>
    public static void RemoveAtRunTime(string mountPath, ChildProcesses children, IReadOnlyList<string> environment)
    {
        if (SystemdMountUnit.NameFor(mountPath) is not { } name || !File.Exists(SystemdMountUnit.PathOf(name)))
        {
            return;
        }

        try
        {
            File.Delete(SystemdMountUnit.WantsLinkPathOf(name));
            File.Delete(SystemdMountUnit.PathOf(name));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            InitLog.Warning(InitLogPhases.Systemd, $"removing the mount unit of {mountPath} failed", error.Message);
            return;
        }

        InitLog.Info(InitLogPhases.Systemd, $"removed the mount unit {SystemdMountUnit.PathOf(name)}");
        Reload(children, environment);
    }

    /// <summary>
    /// systemctl daemon-reload, so a running systemd loads the units as they are now. A failure is logged (the
    /// agent service's log is the journal), not thrown: the volume is mounted or unmounted all the same.
    /// </summary>
    private static void Reload(ChildProcesses children, IReadOnlyList<string> environment)
    {
        var exited = new TaskCompletionSource<ChildExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var nullInput = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
        int pid;
        try
        {
            var systemctl = ExecutableResolver.Resolve("systemctl", environment);
            pid = children.Spawn(new SpawnOptions(systemctl, ["systemctl", "daemon-reload"], environment, "/", null, nullInput, 2, 2), exit => exited.TrySetResult(exit));
        }
        catch (GuestException error)
        {
            InitLog.Warning(InitLogPhases.Systemd, "systemctl daemon-reload failed to start", error.Message);
            return;
        }
        finally
        {
            Libc.close(nullInput);
        }

        if (!exited.Task.Wait(ReloadTimeout))
        {
            Libc.kill(pid, Libc.SIGKILL);
            InitLog.Warning(InitLogPhases.Systemd, "systemctl daemon-reload did not finish", $"killed after {ReloadTimeout.TotalSeconds} s");
        }
        else if (exited.Task.Result.ShellExitCode != 0)
        {
            InitLog.Warning(InitLogPhases.Systemd, "systemctl daemon-reload failed", $"exit code {exited.Task.Result.ShellExitCode}");
        }
    }
}
