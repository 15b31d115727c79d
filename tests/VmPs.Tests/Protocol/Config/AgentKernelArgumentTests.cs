using VmPs.Protocol.Config;

namespace VmPs.Tests.Protocol.Config;

public sealed class AgentKernelArgumentTests
{
    [Fact]
    public void Each_channel_kind_is_written_and_read_back()
    {
        var serial = new AgentChannelConfig();
        var vsock = new AgentChannelConfig { Kind = AgentChannelKind.Vsock, VsockPort = 5000 };

        Assert.Equal("vmps.agent=virtio-serial:org.vmps.agent", AgentKernelArgument.Format(serial));
        Assert.Equal("vmps.agent=vsock:5000", AgentKernelArgument.Format(vsock));
        Assert.Equal(serial, AgentKernelArgument.Find($"quiet {AgentKernelArgument.Format(serial)} console=ttyS0\n"));
        Assert.Equal(vsock, AgentKernelArgument.Find($"quiet {AgentKernelArgument.Format(vsock)}"));
    }

    [Theory]
    [InlineData("quiet console=ttyS0")]
    [InlineData("vmps.agent=")]
    [InlineData("vmps.agent=virtio-serial:")]
    [InlineData("vmps.agent=virtio-serial:../../dev/sda")]
    [InlineData("vmps.agent=vsock:-1")]
    [InlineData("vmps.agent=vsock:4294967296")]
    [InlineData("vmps.agent=vsock:0x10")]
    [InlineData("vmps.agent=tcp:1024")]
    [InlineData("xvmps.agent=vsock:1024")]
    public void A_command_line_without_a_usable_channel_names_none(string commandLine)
    {
        Assert.Null(AgentKernelArgument.Find(commandLine));
    }

    [Fact]
    public void The_last_of_several_arguments_counts_as_the_kernel_does_and_port_names_are_bounded()
    {
        Assert.Equal(1024u, AgentKernelArgument.Find("vmps.agent=virtio-serial:first vmps.agent=vsock:1024")!.VsockPort);
        Assert.NotNull(AgentKernelArgument.Find("vmps.agent=virtio-serial:" + new string('p', 64)));
        Assert.Null(AgentKernelArgument.Find("vmps.agent=virtio-serial:" + new string('p', 65)));
        Assert.Throws<ArgumentException>(() => AgentKernelArgument.Format(new AgentChannelConfig { PortName = "a port" }));
    }

    [Fact]
    public void Without_removes_only_the_agent_argument()
    {
        Assert.Equal("quiet console=ttyS0", AgentKernelArgument.Without("quiet  vmps.agent=vsock:1024 console=ttyS0"));
        Assert.Equal("quiet", AgentKernelArgument.Without("quiet"));
    }
}
