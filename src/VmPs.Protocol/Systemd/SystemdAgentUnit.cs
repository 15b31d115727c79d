using System.Globalization;
using VmPs.Protocol.Config;

namespace VmPs.Protocol.Systemd;

/// <summary>
/// What the guest init installs in a systemd image before it hands PID 1 to systemd: the agent binary,
/// the vmps-agent.service unit (enabled for multi-user.target) and a shutdown hook that writes the poweroff
/// marker, so the host tells a clean systemd power off from a crash.
/// </summary>
public static class SystemdAgentUnit
{
    public const string AgentPath = "/opt/vmps/vmps-guest";

    public const string UnitName = "vmps-agent.service";

    public const string UnitPath = "/etc/systemd/system/" + UnitName;

    /// <summary>The "enable" of the unit: its link in the target's wants directory.</summary>
    public const string WantsLinkPath = "/etc/systemd/system/multi-user.target.wants/" + UnitName;

    /// <summary>systemd-shutdown runs every executable here, with the action as its argument, just before the final reboot(2).</summary>
    public const string ShutdownHookPath = "/usr/lib/systemd/system-shutdown/vmps-poweroff-marker";

    /// <summary>The instance metadata the agent serves in systemd mode (the init serves it itself in exec mode).</summary>
    public const string MetadataPath = "/opt/vmps/metadata.json";

    /// <summary>
    /// The agent's command line for this channel: the agent as a plain service process, not PID 1, run from
    /// <paramref name="agentPath"/> and serving the instance metadata in <paramref name="metadataPath"/> when there is one.
    /// </summary>
    public static IReadOnlyList<string> AgentCommand(AgentChannelConfig channel, string agentPath = AgentPath, string? metadataPath = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        List<string> command = channel.Kind switch
        {
            AgentChannelKind.Vsock => [agentPath, "agent", "--vsock-port", channel.VsockPort.ToString(CultureInfo.InvariantCulture)],
            _ => [agentPath, "agent", "--virtio-port", channel.PortName],
        };
        if (metadataPath is not null)
        {
            command.AddRange(["--metadata", metadataPath]);
        }

        return command;
    }

    public static string Render(AgentChannelConfig channel, string agentPath = AgentPath, string? metadataPath = null) =>
        $"""
        [Unit]
        Description=VmPs guest agent
        # Started early, without waiting for the rest of the boot, so the host reaches the VM as soon as possible.
        DefaultDependencies=no
        After=local-fs.target
        Conflicts=shutdown.target
        Before=shutdown.target

        [Service]
        ExecStart={string.Join(' ', AgentCommand(channel, agentPath, metadataPath))}
        Restart=always
        RestartSec=1

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>A /bin/sh script (every systemd image has one) so the hook's argument reaches the agent binary as a subcommand.</summary>
    public static string ShutdownHook() =>
        $"""
        #!/bin/sh
        exec {AgentPath} shutdown-hook "$1"

        """;
}
