using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Tests.Core.Network;

/// <summary>How each driver hands a VM's TAP to its hypervisor: QEMU arguments and Cloud Hypervisor's VmConfig.net.</summary>
public sealed class NetworkInterfaceArgumentsTests : IDisposable
{
    private static readonly QemuSockets Sockets = new("/vms/a/qmp.sock", "/vms/a/agent.sock", "/vms/a/state.sock", "/vms/a/console.sock");

    private static readonly QemuGuestMemory Memory = new("/dev/shm/vmps-0/a.ram", Shared: true);
    private static readonly NetworkInterfaceSpec Adapter = new("vmps-t1a2b3c", "02:76:6d:0a:0b:0c", 1400);

    private readonly ChTestVm vm = new();

    public void Dispose() => vm.Dispose();

    [Theory]
    [InlineData(QemuMachine.Microvm, "virtio-net-device")]
    [InlineData(QemuMachine.Q35, "virtio-net-pci")]
    public void QemuOpensTheExistingTapWithoutScriptsAndGivesTheGuestItsMac(QemuMachine machine, string device)
    {
        var spec = vm.Spec() with { NetworkInterfaces = [Adapter] };

        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg, machine), spec, Sockets, Memory);

        AssertPair(arguments, "-netdev", "tap,id=net0,ifname=vmps-t1a2b3c,script=no,downscript=no");
        AssertPair(arguments, "-device", $"{device},netdev=net0,mac=02:76:6d:0a:0b:0c");
    }

    [Fact]
    public void QemuWithoutAdaptersHasNoNetworkDevice()
    {
        var arguments = QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), vm.Spec(), Sockets, Memory);

        Assert.DoesNotContain("-netdev", arguments);
        Assert.DoesNotContain(arguments, argument => argument.Contains("virtio-net", StringComparison.Ordinal));
    }

    [Fact]
    public void CloudHypervisorGetsTapMacAndMtuButNoHostAddress()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec() with { NetworkInterfaces = [Adapter] });
        var json = JsonSerializer.Serialize(config, CloudHypervisorJsonContext.Default.VmConfig);

        var net = Assert.Single(JsonNode.Parse(json)!["net"]!.AsArray());
        Assert.True(
            JsonNode.DeepEquals(new JsonObject { ["tap"] = "vmps-t1a2b3c", ["mac"] = "02:76:6d:0a:0b:0c", ["mtu"] = 1400 }, net),
            net!.ToJsonString());
        Assert.Null(FakeCloudHypervisorConfigValidator.Validate(json, out _));
    }

    [Fact]
    public void CloudHypervisorWithoutAdaptersSendsNoNetMember()
    {
        var json = JsonSerializer.Serialize(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CloudHypervisorJsonContext.Default.VmConfig);

        Assert.Null(JsonNode.Parse(json)!["net"]);
    }

    [Fact]
    public void FakeValidatorRejectsAMistypedNetMember()
    {
        const string body = """{"payload":{"kernel":"/k"},"net":[{"tap":"t0","mtu":"1500"}]}""";

        Assert.Equal("net.mtu: invalid type, expected an integer", FakeCloudHypervisorConfigValidator.Validate(body, out _));
    }

    [Theory]
    [InlineData("a-name-longer-than-15", "02:76:6d:0a:0b:0c", 1500, "InvalidTapName")]
    [InlineData("tap,0", "02:76:6d:0a:0b:0c", 1500, "InvalidTapName")]
    [InlineData("tap0", "02:76:6d:0a:0b", 1500, "InvalidMacAddress")]
    [InlineData("tap0", "02:76:6d:0a:0b:0c,x", 1500, "InvalidMacAddress")]
    [InlineData("tap0", "02:76:6d:0a:0b:0c", 20, "InvalidMtu")]
    public void BadAdaptersAreRefusedByBothDrivers(string tap, string mac, int mtu, string errorId)
    {
        var spec = vm.Spec() with { NetworkInterfaces = [new NetworkInterfaceSpec(tap, mac, mtu)] };

        var qemu = Assert.Throws<VmPsException>(() => QemuCommandLine.Build(new QemuDriverOptions("qemu", Accelerator.Tcg), spec, Sockets, Memory));
        var ch = Assert.Throws<VmPsException>(() => CloudHypervisorVmConfigBuilder.Build(spec));

        Assert.Equal(errorId, qemu.ErrorId);
        Assert.Equal(errorId, ch.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, qemu.Kind);
    }

    private static void AssertPair(IReadOnlyList<string> arguments, string option, string value)
    {
        var found = Enumerable.Range(0, arguments.Count - 1).Any(i => arguments[i] == option && arguments[i + 1] == value);
        Assert.True(found, $"Expected '{option} {value}' in: {string.Join(' ', arguments)}");
    }
}
