using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Vms;

public sealed class PublishedPortParserTests
{
    [Theory]
    [InlineData("8080:80", null, 8080, 80, PortProtocol.Tcp)]
    [InlineData("8080:80/tcp", null, 8080, 80, PortProtocol.Tcp)]
    [InlineData("5353:53/UDP", null, 5353, 53, PortProtocol.Udp)]
    [InlineData("127.0.0.1:8080:80", "127.0.0.1", 8080, 80, PortProtocol.Tcp)]
    [InlineData(" 10.0.0.5:1:65535/udp ", "10.0.0.5", 1, 65535, PortProtocol.Udp)]
    public void PublishedPortsAreRead(string text, string? hostAddress, int hostPort, int vmPort, PortProtocol protocol)
    {
        var mapping = PublishedPortParser.Parse(text);

        Assert.Equal(new PortMappingOptions { HostAddress = hostAddress, HostPort = hostPort, VmPort = vmPort, Protocol = protocol }, mapping);
    }

    [Theory]
    [InlineData("80", "'80' is not a published port.")]
    [InlineData("a:b:c:d", "'a:b:c:d' is not a published port.")]
    [InlineData("8080:0", "'0' in '8080:0' is not a VM port: ports are 1 to 65535.")]
    [InlineData("65536:80", "'65536' in '65536:80' is not a host port: ports are 1 to 65535.")]
    [InlineData("-1:80", "'-1' in '-1:80' is not a host port: ports are 1 to 65535.")]
    [InlineData("web:80", "'web' in 'web:80' is not a host port: ports are 1 to 65535.")]
    [InlineData("8080:80/sctp", "'sctp' in '8080:80/sctp' is not a protocol: use tcp or udp.")]
    [InlineData("::1:8080:80", "'::1:8080:80' is not a published port.")]
    [InlineData("localhost:8080:80", "'localhost' in 'localhost:8080:80' is not a host IPv4 address.")]
    public void MalformedValuesGetAnErrorNamingTheProblemAndTheFormats(string text, string problem)
    {
        var error = Assert.Throws<VmPsException>(() => PublishedPortParser.Parse(text));

        Assert.Equal("InvalidPublishedPort", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith(problem + " Expected HOSTPORT:VMPORT or HOSTADDRESS:HOSTPORT:VMPORT", error.Message);
    }
}
