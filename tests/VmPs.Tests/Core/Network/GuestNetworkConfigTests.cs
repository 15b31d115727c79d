using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Network;
using VmPs.Core.Storage;
using VmPs.Protocol;
using VmPs.Protocol.Config;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Network;

/// <summary>The Network section of the config disk and of the agent's NetworkConfigure request.</summary>
public sealed class GuestNetworkConfigTests
{
    private static readonly NetworkAdapterInfo Adapter = new()
    {
        VmId = Guid.NewGuid(),
        VmName = "web",
        Network = "lab",
        Tap = "vmpst0a1b2c3",
        MacAddress = "02:76:6d:0a:0b:0c",
        IPAddress = "10.100.0.7",
        PrefixLength = 16,
        Gateway = "10.100.0.1",
        Dns = ["1.1.1.1", "9.9.9.9"],
        Mtu = 1400,
        Plugged = true,
        Status = NetworkAdapterStatus.Connected,
    };

    [Fact]
    public void TheAdapterBecomesTheGuestsStaticSetup()
    {
        var network = GuestConfigFactory.Network(Adapter);

        Assert.Equal("02:76:6d:0a:0b:0c", network.MacAddress);
        Assert.Equal("10.100.0.7", network.Address);
        Assert.Equal(16, network.PrefixLength);
        Assert.Equal("10.100.0.1", network.Gateway);
        Assert.Equal(["1.1.1.1", "9.9.9.9"], network.Dns);
        Assert.Equal(1400, network.Mtu);
    }

    [Fact]
    public void TheNetworkSectionRoundTripsThroughTheConfigDiskWithCamelCaseNames()
    {
        var config = new GuestConfig { VmName = "web", Network = GuestConfigFactory.Network(Adapter) };
        var disk = new MemoryStream();
        ConfigDisk.Write(disk, config);
        disk.Position = 0;

        var read = ConfigDisk.Read(disk);

        Assert.Equal(config.Network!.Dns, read.Network!.Dns);
        Assert.Equal(config.Network with { Dns = read.Network.Dns }, read.Network);
        var json = JsonNode.Parse(JsonSerializer.Serialize(config, ProtocolJsonContext.Default.GuestConfig))!;
        Assert.True(
            JsonNode.DeepEquals(
                JsonNode.Parse("""{"macAddress":"02:76:6d:0a:0b:0c","address":"10.100.0.7","prefixLength":16,"gateway":"10.100.0.1","dns":["1.1.1.1","9.9.9.9"],"mtu":1400}"""),
                json["network"]),
            json["network"]?.ToJsonString());
    }

    [Fact]
    public void AVmWithoutANetworkHasNoNetworkMember()
    {
        var json = JsonNode.Parse(JsonSerializer.Serialize(new GuestConfig { VmName = "web" }, ProtocolJsonContext.Default.GuestConfig))!;

        Assert.Null(json["network"]);
        Assert.Null(JsonSerializer.Deserialize("""{"vmName":"web"}""", ProtocolJsonContext.Default.GuestConfig)!.Network);
    }

    [Fact]
    public void NetworkConfigureCarriesTheSameSetup()
    {
        var message = new NetworkConfigureMessage(GuestConfigFactory.Network(Adapter));

        var bytes = JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.NetworkConfigureMessage);
        var read = ProtocolJson.Deserialize(bytes, ProtocolJsonContext.Default.NetworkConfigureMessage);

        Assert.Equal("10.100.0.7", read.Network.Address);
        Assert.Equal("02:76:6d:0a:0b:0c", read.Network.MacAddress);
    }
}
