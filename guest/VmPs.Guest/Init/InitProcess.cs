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

namespace VmPs.Guest.Init;

/// <summary>
/// PID 1: prepares the VM's root filesystem from the disks, starts the agent and the image's command,
/// reaps every process, and powers the VM off when the command exits or the host asks.
/// PID 1 must never return or throw (the kernel would panic), so every failure ends in a logged power off.
/// </summary>
internal sealed class InitProcess
{
    private static readonly TimeSpan DiskTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan AgentPortTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TermGracePeriod = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan KillGracePeriod = TimeSpan.FromSeconds(2);

    private readonly ChildProcesses _children = new();
    private readonly TaskCompletionSource<PowerRequest> _power = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _entrypointPid;
    private int _overlayDiskFd = -1;

    // Kept until power off: without it the runtime's default SIGTERM handling would end PID 1 (a kernel panic).
    private PosixSignalRegistration? _sigterm;

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
            BootConsole.WriteLine(ConsoleMarkers.FormatError(error is InitException ? error.Message : error.ToString()));
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

        var kernelCommandLine = File.ReadAllText("/proc/cmdline");
        if (kernelCommandLine.Split(' ', '\n').Contains(ConsoleMarkers.ProbeKernelArgument))
        {
            BootConsole.WriteLine(ConsoleMarkers.ProbeOk);
            return new PowerRequest(PoweroffReasons.Probe, null, Reboot: false);
        }

        _children.StartReaper();
        var modules = KernelModules.Open();
        modules.Load(BootModules.Disks(kernelCommandLine));
        var config = ReadConfig();
        if (config.InitMode != InitMode.Exec)
        {
            throw new InitException($"Init mode {config.InitMode} is not supported by this guest (VmPs {ProtocolInfo.ProductVersion}); use Exec.");
        }

        modules.Load(BootModules.For(config));
        var disks = BlockDevices.WaitForSerials([config.Disks.Rootfs, config.Disks.Overlay], DiskTimeout);
        _overlayDiskFd = RootFilesystem.MountOverlay(disks[config.Disks.Rootfs], disks[config.Disks.Overlay], config.RootfsFilesystem);
        RootFilesystem.SwitchRoot();
        RootFilesystem.MountRuntimeFilesystems();
        SetHostname(string.IsNullOrEmpty(config.Hostname) ? config.VmName : config.Hostname);
        BringUpLoopback();

        var environment = BaseEnvironment(config);
        PowerButton.Watch(() => _power.TrySetResult(new PowerRequest(PoweroffReasons.PowerButton, null, Reboot: false)));
        StartAgent(config, environment);
        BootConsole.WriteLine($"{ConsoleMarkers.AgentReady} uptime={Uptime()}");
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm);
        LoadRemainingModules(modules);
        GuestNetwork.ConfigureAtBoot(config);
        if (config.Command.Count > 0)
        {
            StartEntrypoint(config, environment);
        }

        return _power.Task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// The agent needs none of the rest (network, rng, loop, power button...), the image's command sees them
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

    private void StartAgent(GuestConfig config, IReadOnlyList<string> environment)
    {
        var context = new AgentContext(_children, environment, config.WorkingDirectory ?? "/", reboot =>
            _power.TrySetResult(new PowerRequest(reboot ? PoweroffReasons.RebootRequested : PoweroffReasons.ShutdownRequested, null, reboot)));
        switch (config.AgentChannel.Kind)
        {
            case AgentChannelKind.Vsock:
                AgentTransports.ServeVsock(config.AgentChannel.VsockPort, context);
                break;
            default:
                AgentTransports.ServeVirtioSerial(WaitForAgentPort(config.AgentChannel.PortName), context);
                break;
        }
    }

    private static string WaitForAgentPort(string name)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (AgentTransports.FindVirtioPort(name) is { } device)
            {
                return device;
            }

            if (clock.Elapsed > AgentPortTimeout)
            {
                throw new InitException($"No virtio-serial port named {name} appeared within {AgentPortTimeout.TotalSeconds:0} s.");
            }

            Thread.Sleep(2);
        }
    }

    private void StartEntrypoint(GuestConfig config, IReadOnlyList<string> environment)
    {
        try
        {
            var identity = UserDatabase.Resolve(config.User);
            environment = EnvironmentBlock.WithDefault(environment, "HOME", identity.Home);
            var executable = ExecutableResolver.Resolve(config.Command[0], environment);
            var nullInput = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
            var options = new SpawnOptions(executable, config.Command, environment, config.WorkingDirectory ?? "/", identity, nullInput, 1, 2);
            _entrypointPid = _children.Spawn(options, exit =>
                _power.TrySetResult(new PowerRequest(PoweroffReasons.EntrypointExited, exit.ShellExitCode, Reboot: false)));
            Libc.close(nullInput);
        }
        catch (GuestException error)
        {
            throw new InitException($"Cannot start the image command '{string.Join(' ', config.Command)}': {error.Message}");
        }
    }

    private void OnSigterm(PosixSignalContext context)
    {
        context.Cancel = true;
        if (_entrypointPid > 0)
        {
            Libc.kill(_entrypointPid, Libc.SIGTERM);
        }
        else
        {
            _power.TrySetResult(new PowerRequest(PoweroffReasons.Terminated, null, Reboot: false));
        }
    }

    private static unsafe void SetHostname(string hostname)
    {
        var bytes = Encoding.UTF8.GetBytes(hostname);
        fixed (byte* name = bytes)
        {
            SystemCalls.Check(Libc.sethostname(name, bytes.Length), $"setting hostname {hostname}");
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

    /// <summary>Stops every process (TERM, then KILL), flushes and freezes the overlay disk, prints the marker and powers off.</summary>
    private void PowerOff(PowerRequest request)
    {
        Libc.kill(-1, Libc.SIGTERM);
        if (!_children.WaitUntilNoChildren(TermGracePeriod))
        {
            Libc.kill(-1, Libc.SIGKILL);
            _children.WaitUntilNoChildren(KillGracePeriod);
        }

        Libc.sync();
        if (_overlayDiskFd >= 0)
        {
            RootFilesystem.FreezeOverlayDisk(_overlayDiskFd);
        }

        BootConsole.WriteLine(ConsoleMarkers.FormatPoweroff(request.Reason, request.ExitCode));
        Libc.reboot(request.Reboot ? Libc.RB_AUTOBOOT : Libc.RB_POWER_OFF);
        Thread.Sleep(Timeout.Infinite);
    }
}
