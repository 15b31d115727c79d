using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Network.Firewall;

namespace VmPs.Tests.Core.Network.Firewall;

public sealed class FirewallSelectionTests
{
    [Theory]
    [InlineData("nftables", FirewallBackend.Nftables)]
    [InlineData(" IPTABLES ", FirewallBackend.Iptables)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void VmpsFirewallNamesABackendOrLeavesTheChoiceToTheHost(string? value, FirewallBackend? expected) =>
        Assert.Equal(expected, FirewallSelection.Parse(value));

    [Theory]
    [InlineData("pf")]
    [InlineData("1")]
    public void AnUnknownBackendIsRefusedByName(string value)
    {
        var error = Assert.Throws<VmPsException>(() => FirewallSelection.Parse(value));

        Assert.Equal(("InvalidFirewallBackend", VmPsErrorKind.InvalidArgument), (error.ErrorId, error.Kind));
        Assert.Contains("VMPS_FIREWALL", error.Message);
    }

    [Fact]
    public void ThisHostOffersNftablesFirstWhenLibnftablesIsInstalled()
    {
        var expected = File.Exists("/usr/lib/x86_64-linux-gnu/libnftables.so.1") || File.Exists("/usr/lib/aarch64-linux-gnu/libnftables.so.1")
            ? FirewallBackend.Nftables
            : FirewallBackend.Iptables;

        Assert.Equal(expected, FirewallSelection.Detect());
    }
}
