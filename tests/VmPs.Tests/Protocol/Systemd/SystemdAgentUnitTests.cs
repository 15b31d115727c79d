using VmPs.Protocol.Config;
using VmPs.Protocol.Systemd;

namespace VmPs.Tests.Protocol.Systemd;

public sealed class SystemdAgentUnitTests
{
    [Fact]
    public void TheUnitRunsTheInstalledAgentOnTheConfiguredVirtioSerialPort()
    {
        var unit = SystemdAgentUnit.Render(new AgentChannelConfig { PortName = "org.example.port" });

        Assert.Equal("ExecStart=/opt/vmps/vmps-guest agent --virtio-port org.example.port", Line(unit, "ExecStart="));
        Assert.Equal("WantedBy=multi-user.target", Line(unit, "WantedBy="));
        Assert.Equal("Restart=always", Line(unit, "Restart="));
        Assert.Contains("[Unit]", unit);
        Assert.Contains("[Service]", unit);
        Assert.Contains("[Install]", unit);
    }

    [Fact]
    public void TheUnitRunsTheAgentOnVsockWhenTheChannelIsVsock()
    {
        var unit = SystemdAgentUnit.Render(new AgentChannelConfig { Kind = AgentChannelKind.Vsock, VsockPort = 2048 });

        Assert.Equal("ExecStart=/opt/vmps/vmps-guest agent --vsock-port 2048", Line(unit, "ExecStart="));
    }

    [Fact]
    public void TheUnitRunsAnAgentFromAnotherPathServingTheMetadataFileItIsGiven()
    {
        var unit = SystemdAgentUnit.Render(new AgentChannelConfig(), "/run/vmps/seed/vmps/vmps-guest", "/run/vmps/seed/vmps/metadata.json");

        Assert.Equal(
            "ExecStart=/run/vmps/seed/vmps/vmps-guest agent --virtio-port org.vmps.agent --metadata /run/vmps/seed/vmps/metadata.json",
            Line(unit, "ExecStart="));
    }

    [Fact]
    public void TheEnableLinkIsInTheMultiUserTargetsWantsDirectoryUnderTheUnitsName()
    {
        Assert.Equal("/etc/systemd/system/multi-user.target.wants", Path.GetDirectoryName(SystemdAgentUnit.WantsLinkPath));
        Assert.Equal(Path.GetFileName(SystemdAgentUnit.UnitPath), Path.GetFileName(SystemdAgentUnit.WantsLinkPath));
        Assert.StartsWith("/usr/lib/systemd/system-shutdown/", SystemdAgentUnit.ShutdownHookPath, StringComparison.Ordinal);
    }

    [Fact]
    public void TheShutdownHookPassesSystemdsActionToTheAgentBinary()
    {
        var hook = SystemdAgentUnit.ShutdownHook().Split('\n');

        Assert.Equal("#!/bin/sh", hook[0]);
        Assert.Equal("exec /opt/vmps/vmps-guest shutdown-hook \"$1\"", hook[1]);
    }

    private static string Line(string unit, string prefix) =>
        Assert.Single(unit.Split('\n'), line => line.StartsWith(prefix, StringComparison.Ordinal));
}
