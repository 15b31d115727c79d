using System.Globalization;
using VmPs.Protocol;
using VmPs.Protocol.Logs;

namespace VmPs.Bench;

/// <summary>
/// Where one boot's time went, from the guest's own clock: the kernel until the init printed its boot marker
/// (uptime), then each init phase until the agent was ready (the time between consecutive init log records, given
/// to the phase of the earlier one), and the rest of Start-Vm as seen by the host (preparing the boot files,
/// starting QEMU, loading the kernel before the guest clock starts, connecting to the agent). <see cref="SetUpAfterReady"/>
/// is the set-up the init does after agent-ready (its network phase), which execs wait for.
/// </summary>
internal sealed record BootBreakdown(TimeSpan KernelToInit, IReadOnlyDictionary<string, TimeSpan> InitPhases, TimeSpan GuestAgentReady, TimeSpan SetUpAfterReady)
{
    /// <summary>Reads the console lines and init records of one boot; null when the markers are missing.</summary>
    public static BootBreakdown? Read(IReadOnlyList<string> console, IReadOnlyList<InitLogRecord> init)
    {
        var boot = Uptime(console, ConsoleMarkers.Boot);
        var agentReady = Uptime(console, ConsoleMarkers.AgentReady);
        var readyIndex = init.ToList().FindIndex(record => record.Phase == InitLogPhases.Agent && record.Message.StartsWith("agent ready", StringComparison.Ordinal));
        if (boot is null || agentReady is null || readyIndex < 0)
        {
            return null;
        }

        var phases = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        for (var i = 0; i < readyIndex; i++)
        {
            phases[init[i].Phase] = phases.GetValueOrDefault(init[i].Phase) + (init[i + 1].Time - init[i].Time);
        }

        var setUp = init.ToList().FindIndex(readyIndex, record => record.Phase == InitLogPhases.Network);
        var setUpTime = setUp >= 0 && setUp + 1 < init.Count ? init[setUp + 1].Time - init[readyIndex].Time : TimeSpan.Zero;
        return new BootBreakdown(boot.Value, phases, agentReady.Value, setUpTime);
    }

    /// <summary>"[vmps] boot version=0.1.0 uptime=1.23" -> 1.23 s.</summary>
    private static TimeSpan? Uptime(IReadOnlyList<string> console, string marker)
    {
        var line = console.LastOrDefault(line => line.StartsWith(marker, StringComparison.Ordinal));
        var field = line?.Split(' ').FirstOrDefault(part => part.StartsWith("uptime=", StringComparison.Ordinal));
        return field is not null && double.TryParse(field["uptime=".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }
}
