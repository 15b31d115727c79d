using VmPs.Guest.Processes;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Agent;

/// <summary>What every agent session shares: the process table and how this agent runs.</summary>
internal sealed class AgentContext
{
    public AgentContext(ChildProcesses children, IReadOnlyList<string> baseEnvironment, string defaultWorkingDirectory, Action<ShutdownMessage> requestShutdown)
    {
        Children = children;
        BaseEnvironment = baseEnvironment;
        DefaultWorkingDirectory = defaultWorkingDirectory;
        RequestShutdown = requestShutdown;
    }

    public ChildProcesses Children { get; }

    /// <summary>The environment execs start from before the request's own entries.</summary>
    public IReadOnlyList<string> BaseEnvironment { get; }

    public string DefaultWorkingDirectory { get; }

    /// <summary>False for the agent outside a VM, which must not set the clock, hostname, machine-id or RNG of the machine it runs on.</summary>
    public bool OwnsMachine { get; init; } = true;

    /// <summary>
    /// True for the agent service under systemd: a volume it mounts or unmounts gets or loses its runtime mount unit,
    /// as the init writes one for each volume mounted at boot.
    /// </summary>
    public bool WritesMountUnits { get; init; }

    /// <summary>
    /// Completes once the init has set up what commands see (runtime filesystems, hostname, loopback), which it does
    /// after the agent is ready; execs, file and network requests wait for it, the handshake and pings do not.
    /// Faults with a <see cref="GuestException"/> when the init failed instead.
    /// </summary>
    public Task SystemReady { get; init; } = Task.CompletedTask;

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
