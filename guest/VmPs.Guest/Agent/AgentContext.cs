using VmPs.Guest.Processes;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>What execs start from: the image's environment and working directory, which the init reads from the config.</summary>
internal sealed record ExecDefaults(IReadOnlyList<string> Environment, string WorkingDirectory);

/// <summary>What every agent session shares: the process table and how this agent runs.</summary>
internal sealed class AgentContext
{
    public AgentContext(ChildProcesses children, Action<ShutdownMessage> requestShutdown)
    {
        Children = children;
        RequestShutdown = requestShutdown;
    }

    public ChildProcesses Children { get; }

    /// <summary>False for the agent outside a VM, which must not set the clock, hostname, machine-id or RNG of the machine it runs on.</summary>
    public bool OwnsMachine { get; init; } = true;

    /// <summary>
    /// True for the agent service under systemd: a volume it mounts or unmounts gets or loses its runtime mount unit,
    /// as the init writes one for each volume mounted at boot.
    /// </summary>
    public bool WritesMountUnits { get; init; }

    /// <summary>
    /// Completes once the init has set up what commands see (runtime filesystems, hostname, loopback), which it does
    /// after the agent is ready, with what execs start from; execs, file and network requests wait for it, the
    /// handshake and pings do not. Faults with a <see cref="GuestException"/> when the init failed instead.
    /// </summary>
    public required Task<ExecDefaults> SystemReady { get; init; }

    /// <summary>What execs start from; only for requests that waited for <see cref="SystemReady"/>.</summary>
    public ExecDefaults ExecDefaults => SystemReady.IsCompletedSuccessfully
        ? SystemReady.Result
        : throw new InvalidOperationException("The exec defaults are known once the system is ready.");

    /// <summary>Called once a shutdown or reboot request was acknowledged.</summary>
    public Action<ShutdownMessage> RequestShutdown { get; }

    public static double UptimeSeconds()
    {
        try
        {
            var first = File.ReadAllText("/proc/uptime").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return Environment.TickCount64 / 1000.0;
        }
    }
}
