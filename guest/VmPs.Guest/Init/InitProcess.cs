using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using VmPs.Guest.Agent;
using VmPs.Guest.Native;
using VmPs.Guest.Network;
using VmPs.Guest.Processes;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Logs;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Systemd;

namespace VmPs.Guest.Init;

/// <summary>
/// PID 1: prepares the VM's root filesystem from the disks, starts the agent and the image's command,
/// reaps every process, and powers the VM off when the command exits or the host asks.
/// PID 1 must never return or throw (the kernel would panic), so every failure ends in a logged power off.
/// </summary>
internal sealed class InitProcess
{
    private static readonly TimeSpan DiskTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan TermGracePeriod = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan KillGracePeriod = TimeSpan.FromSeconds(2);

    private readonly ChildProcesses children = new();
    private readonly TaskCompletionSource<PowerRequest> power = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource systemReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int entrypointPid;
    private int overlayDiskFd = -1;
    private string phase = InitLogPhases.Boot;

    // Kept until power off: without it the runtime's default SIGTERM handling would end PID 1 (a kernel panic).
    private PosixSignalRegistration? sigterm;

    public static int Run()
    {
        var init = new InitProcess();
        PowerRequest request;
        try
        {
            request = init.Boot();
        }
        catch (Exception error)
        {
            var message = error is InitException ? error.Message : error.ToString();
            InitLog.Error(init.phase, "boot failed", message);
            init.systemReady.TrySetException(new GuestException(ErrorCodes.ExecFailed, $"The VM's init failed and is powering off: {message}"));
            BootConsole.WriteLine(ConsoleMarkers.FormatError(message));
            request = new PowerRequest(PoweroffReasons.InitFailed, null, Reboot: false);
        }

        init.PowerOff(request);
        return 0;
    }

    private PowerRequest Boot()
    {
        SystemCalls.Mount("proc", "/proc", "proc", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC);
        SystemCalls.Mount("sysfs", "/sys", "sysfs", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC);
        SystemCalls.Mount("devtmpfs", "/dev", "devtmpfs", Libc.MS_NOSUID, "mode=0755");
        BootConsole.WriteLine($"{ConsoleMarkers.FormatBoot(ProtocolInfo.ProductVersion)} uptime={Uptime()}");
        Enter(InitLogPhases.Boot, $"vmps-guest {ProtocolInfo.ProductVersion} started, uptime {Uptime()} s");

        var kernelCommandLine = File.ReadAllText("/proc/cmdline");
        if (kernelCommandLine.Split(' ', '\n').Contains(ConsoleMarkers.ProbeKernelArgument))
        {
            BootConsole.WriteLine(ConsoleMarkers.ProbeOk);
            return new PowerRequest(PoweroffReasons.Probe, null, Reboot: false);
        }

        children.StartReaper();
        // A kernel with every driver built in (the VmPs kernel) comes with no modules: no module phase at all.
        var modules = KernelModules.Open();
        if (!modules.IsEmpty)
        {
            Enter(InitLogPhases.Modules, "loading the disk drivers");
            modules.Load(BootModules.Disks(kernelCommandLine));
        }

        Enter(InitLogPhases.Config, "reading the config disk");
        var config = ReadConfig();
        InitLog.Info(InitLogPhases.Config, $"VM {config.VmName}, init mode {config.InitMode}, agent over {config.AgentChannel.Kind}, rootfs {config.RootfsFilesystem}");

        if (!modules.IsEmpty)
        {
            Enter(InitLogPhases.Modules, "loading the rootfs, overlay, agent channel and power button drivers");
            modules.Load(BootModules.For(config));
        }

        if (config.InitMode == InitMode.Systemd)
        {
            var disks = MountRoot(config);
            SetUpSystem(config, disks);
            HandOverToSystemd(config, disks, modules);
        }

        // The agent answers before the root filesystem is mounted: the handshake needs none of it, and execs, file
        // and network requests wait for system-ready. The power button is watched first: the host may press it as
        // soon as Start-Vm returns, and a press made before the event device is open is lost.
        PowerButton.Watch(() => power.TrySetResult(new PowerRequest(PoweroffReasons.PowerButton, null, Reboot: false)));
        var environment = BaseEnvironment(config);
        Enter(InitLogPhases.Agent, "starting the agent");
        var listening = StartAgent(config, environment);
        InitLog.Info(InitLogPhases.Agent, $"agent ready on {listening}, uptime {Uptime()} s");
        BootConsole.WriteLine($"{ConsoleMarkers.AgentReady} uptime={Uptime()}");
        SetUpSystem(config, MountRoot(config));
        StartMetadataService(config, modules);
        ConfigureNetwork(config, modules);
        systemReady.SetResult();
        sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm);
        if (!modules.IsEmpty)
        {
            Enter(InitLogPhases.Modules, "loading the remaining modules at low priority");
            LoadRemainingModules(modules);
        }

        if (power.Task.IsCompleted)
        {
            // Asked to power off (agent or power button) while the root was mounted: the command never starts.
            return power.Task.Result;
        }

        if (config.Command.Count > 0)
        {
            StartEntrypoint(config, environment);
        }
        else
        {
            InitLog.Info(InitLogPhases.Entrypoint, "the image has no command; waiting for a shutdown request");
        }

        return power.Task.GetAwaiter().GetResult();
    }

    /// <summary>Waits for the VM's disks, mounts the rootfs under the overlay and switches root; returns the disks by serial.</summary>
    private IReadOnlyDictionary<string, string> MountRoot(GuestConfig config)
    {
        Enter(InitLogPhases.Disks, $"waiting for the rootfs and overlay disks{(config.Volumes.Count > 0 ? $" and {config.Volumes.Count} volume(s)" : "")}");
        var disks = BlockDevices.WaitForSerials([config.Disks.Rootfs, config.Disks.Overlay, .. config.Volumes.Select(volume => volume.Serial)], DiskTimeout);
        Enter(InitLogPhases.Rootfs, $"mounting {disks[config.Disks.Rootfs]} ({config.RootfsFilesystem}, read-only) under the overlay {disks[config.Disks.Overlay]} and switching root");
        overlayDiskFd = RootFilesystem.MountOverlay(disks[config.Disks.Rootfs], disks[config.Disks.Overlay], config.RootfsFilesystem);
        RootFilesystem.SwitchRoot();
        return disks;
    }

    /// <summary>
    /// What commands see but the agent's handshake does not need: in exec mode it runs right after the agent is
    /// ready, while the host connects, and the agent holds execs, file and network requests until it is done.
    /// </summary>
    private void SetUpSystem(GuestConfig config, IReadOnlyDictionary<string, string> disks)
    {
        Enter(InitLogPhases.Network, "mounting devpts, /dev/shm, /run and /tmp, setting the hostname and machine-id and bringing lo up");
        RootFilesystem.MountRuntimeFilesystems();
        if (config.Volumes.Count > 0)
        {
            Enter(InitLogPhases.Disks, "mounting the volumes");
            GuestVolumes.Mount(config.Volumes, disks);
        }

        if (config.Shares.Count > 0)
        {
            Enter(InitLogPhases.Disks, "mounting the host directory shares");
            GuestShares.Mount(config.Shares);
        }

        SetIdentity(config);
        BringUpLoopback();
    }

    /// <summary>
    /// Exec mode only: in systemd mode systemd replaces this process, and the listener would go with it.
    /// Before system-ready, so that the image's command and the host's first exec find it answering.
    /// </summary>
    private void StartMetadataService(GuestConfig config, KernelModules modules)
    {
        if (config.Metadata is { } metadata)
        {
            Enter(InitLogPhases.Network, "starting the instance metadata service");
            modules.Load(MetadataEndpoint.KernelModule);
            MetadataEndpoint.Start(metadata);
        }
    }

    /// <summary>
    /// Systemd mode: every module (network included) is loaded while this init still can, the mounts get their
    /// runtime units, the agent is installed as a service, and systemd replaces this process as PID 1. Returns only
    /// by throwing.
    /// </summary>
    private void HandOverToSystemd(GuestConfig config, IReadOnlyDictionary<string, string> disks, KernelModules modules)
    {
        if (!modules.IsEmpty)
        {
            Enter(InitLogPhases.Modules, "loading all modules");
            modules.LoadRemaining();
        }

        ConfigureNetwork(config, modules);
        if (config.Volumes.Count + config.Shares.Count > 0)
        {
            Enter(InitLogPhases.Systemd, $"writing the mount units of the volumes and shares in {SystemdMountUnit.Directory}");
            SystemdHandover.InstallMountUnits(config, disks);
        }

        Enter(InitLogPhases.Systemd, $"installing the agent as {SystemdAgentUnit.UnitName} and starting /sbin/init");
        SystemdHandover.InstallAgent(config.AgentChannel, config.Metadata);
        SystemdHandover.ExecSystemInit();
    }

    /// <summary>
    /// Before system-ready (exec mode) or the hand-over (systemd mode), so that the host's first exec and the image's
    /// command find the address and the default route. In exec mode the adapter's driver loads here, ahead of the rest.
    /// </summary>
    private void ConfigureNetwork(GuestConfig config, KernelModules modules)
    {
        if (config.Network is not null)
        {
            Enter(InitLogPhases.Network, "configuring the VM's network adapter");
            modules.Load(BootModules.Network);
            GuestNetwork.ConfigureAtBoot(config);
        }
    }

    /// <summary>Starts a boot phase: logged, and named by the error record if the boot fails in it.</summary>
    private void Enter(string phase, string message)
    {
        this.phase = phase;
        InitLog.Info(phase, message);
    }

    /// <summary>
    /// The agent needs none of the rest (rng, loop, the other agent channel...), the image's command sees them
    /// all. They load at the lowest priority so that, on a one-vCPU VM, the host's first requests go first.
    /// </summary>
    private static void LoadRemainingModules(KernelModules modules)
    {
        const int lowestPriority = 19;
        Libc.setpriority(Libc.PRIO_PROCESS, 0, lowestPriority);
        try
        {
            modules.LoadRemaining();
        }
        finally
        {
            Libc.setpriority(Libc.PRIO_PROCESS, 0, 0);
        }
    }

    private static string Uptime() => AgentContext.UptimeSeconds().ToString("0.00", CultureInfo.InvariantCulture);

    private static GuestConfig ReadConfig()
    {
        var device = BlockDevices.WaitForSerials([DiskSerials.Config], DiskTimeout)[DiskSerials.Config];
        try
        {
            using var disk = File.OpenRead(device);
            return ConfigDisk.Read(disk);
        }
        catch (InvalidDataException error)
        {
            throw new InitException($"Config disk {device}: {error.Message}");
        }
    }

    private static IReadOnlyList<string> BaseEnvironment(GuestConfig config) =>
        EnvironmentBlock.WithDefault(config.Environment, "PATH", ExecutableResolver.DefaultPath);

    private string StartAgent(GuestConfig config, IReadOnlyList<string> environment)
    {
        var context = new AgentContext(children, environment, config.WorkingDirectory ?? "/", request =>
            power.TrySetResult(new PowerRequest(
                request.Reboot ? PoweroffReasons.RebootRequested : PoweroffReasons.ShutdownRequested, null, request.Reboot, request.Force)))
        {
            SystemReady = systemReady.Task,
        };
        return AgentChannels.Serve(config.AgentChannel, context);
    }

    private void StartEntrypoint(GuestConfig config, IReadOnlyList<string> environment)
    {
        phase = InitLogPhases.Entrypoint;
        try
        {
            var identity = UserDatabase.Resolve(config.User);
            environment = EnvironmentBlock.WithDefault(environment, "HOME", identity.Home);
            var executable = ExecutableResolver.Resolve(config.Command[0], environment);
            var workingDirectory = config.WorkingDirectory ?? "/";
            var nullInput = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
            var appOutput = AppConsole.Open();
            var options = new SpawnOptions(executable, config.Command, environment, workingDirectory, identity, nullInput, appOutput, appOutput);
            entrypointPid = children.Spawn(options, exit =>
            {
                InitLog.Info(InitLogPhases.Entrypoint, $"the command exited with code {exit.ShellExitCode}");
                power.TrySetResult(new PowerRequest(PoweroffReasons.EntrypointExited, exit.ShellExitCode, Reboot: false));
            });
            InitLog.Info(InitLogPhases.Entrypoint, $"started '{string.Join(' ', config.Command)}' as pid {entrypointPid}, uid {identity.Uid}, in {workingDirectory}");
            Libc.close(nullInput);
            if (appOutput != 1)
            {
                Libc.close(appOutput);
            }
        }
        catch (GuestException error)
        {
            throw new InitException($"Cannot start the image command '{string.Join(' ', config.Command)}': {error.Message}");
        }
    }

    private void OnSigterm(PosixSignalContext context)
    {
        context.Cancel = true;
        if (entrypointPid > 0)
        {
            Libc.kill(entrypointPid, Libc.SIGTERM);
        }
        else
        {
            power.TrySetResult(new PowerRequest(PoweroffReasons.Terminated, null, Reboot: false));
        }
    }

    private static void SetIdentity(GuestConfig config)
    {
        try
        {
            GuestIdentity.SetHostname(string.IsNullOrEmpty(config.Hostname) ? config.VmName : config.Hostname);
            if (config.MachineId.Length > 0)
            {
                GuestIdentity.WriteMachineId(config.MachineId);
            }
        }
        catch (Exception error) when (error is GuestException or IOException or UnauthorizedAccessException)
        {
            throw new InitException($"Setting the VM's identity failed: {error.Message}");
        }
    }

    private static void BringUpLoopback()
    {
        var result = NativeMethods.LinkUp("lo");
        if (result < 0)
        {
            throw new InitException($"Bringing up lo failed: {Libc.ErrorText(-result)}");
        }
    }

    /// <summary>
    /// Stops every process (TERM, then KILL; forced: KILL at once), flushes and freezes the overlay disk, prints the
    /// marker and powers off.
    /// </summary>
    private void PowerOff(PowerRequest request)
    {
        var why = request.ExitCode is { } code ? $"{request.Reason}, exit code {code}" : request.Reason;
        InitLog.Info(InitLogPhases.Poweroff, $"{(request.Reboot ? "rebooting" : "powering off")}: {why}; {(request.Force ? "killing" : "stopping")} every process");
        if (!request.Force)
        {
            Libc.kill(-1, Libc.SIGTERM);
        }

        if (request.Force || !children.WaitUntilNoChildren(TermGracePeriod))
        {
            Libc.kill(-1, Libc.SIGKILL);
            children.WaitUntilNoChildren(KillGracePeriod);
        }

        Libc.sync();
        GuestVolumes.UnmountAll();
        if (overlayDiskFd >= 0)
        {
            RootFilesystem.FreezeOverlayDisk(overlayDiskFd);
        }

        BootConsole.WriteLine(ConsoleMarkers.FormatPoweroff(request.Reason, request.ExitCode));
        Libc.reboot(request.Reboot ? Libc.RB_AUTOBOOT : Libc.RB_POWER_OFF);
        Thread.Sleep(Timeout.Infinite);
    }
}
