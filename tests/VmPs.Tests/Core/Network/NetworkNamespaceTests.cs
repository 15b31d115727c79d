using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Network;

/// <summary>Work and child processes started through a NetworkNamespace run inside it, and only there.</summary>
public sealed class NetworkNamespaceTests : IDisposable
{
    private ScratchNamespace? scratch;

    [RequiresNetworkFact]
    public async Task ProcessesStartedThroughANamedNamespaceSeeItsInterfacesAndTheCallerKeepsItsOwn()
    {
        scratch = await ScratchNamespace.CreateAsync();
        await scratch.IpAsync("link", "add", "inside0", "type", "veth", "peer", "name", "inside1");

        var inside = await scratch.Namespace.RunStartedAsync(
            () => ExternalTool.RunCheckedAsync("ip", ["-o", "link"], CancellationToken.None),
            CancellationToken.None);
        var current = await NetworkNamespace.Current.RunStartedAsync(
            () => ExternalTool.RunCheckedAsync("ip", ["-o", "link"], CancellationToken.None),
            CancellationToken.None);
        var sysctlInside = await scratch.Namespace.RunAsync(() => File.ReadAllText("/proc/sys/net/ipv4/conf/inside0/forwarding"), CancellationToken.None);

        Assert.Contains("inside0", inside.StandardOutput);
        Assert.DoesNotContain("inside0", current.StandardOutput);
        Assert.Equal("0", sysctlInside.Trim());
        Assert.False(File.Exists("/proc/sys/net/ipv4/conf/inside0/forwarding"));
        Assert.Equal(scratch.Name, scratch.Namespace.Name);
        Assert.Null(NetworkNamespace.Current.Name);
    }

    [RequiresNetworkFact]
    public async Task WorkThatThrowsFailsItsTaskAndTheNamespaceKeepsServing()
    {
        scratch = await ScratchNamespace.CreateAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => scratch.Namespace.RunAsync(() => throw new InvalidOperationException("boom"), CancellationToken.None));

        Assert.Equal(42, await scratch.Namespace.RunAsync(() => 42, CancellationToken.None));
    }

    [RequiresNetworkFact]
    public async Task SharedJoinsANamespaceOnceForConcurrentCallersAndKeepsNoFailedJoin()
    {
        var name = "vmpst-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal("NetworkNamespaceNotFound", Assert.Throws<VmPsException>(() => NetworkNamespace.Shared(name)).ErrorId);
        await ExternalTool.RunCheckedAsync("ip", ["netns", "add", name], CancellationToken.None);
        try
        {
            var joins = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => NetworkNamespace.Shared(name))));

            Assert.All(joins, joined => Assert.Same(joins[0], joined));
            Assert.Equal(name, joins[0].Name);
            Assert.Same(NetworkNamespace.Current, NetworkNamespace.Shared(null));
        }
        finally
        {
            await ExternalTool.RunAsync("ip", ["netns", "delete", name], CancellationToken.None);
        }
    }

    [Fact]
    public void AMissingNamespaceIsASpecificError()
    {
        var error = Assert.Throws<VmPsException>(() => NetworkNamespace.Named("vmps-no-such-namespace"));

        Assert.Equal(("NetworkNamespaceNotFound", VmPsErrorKind.ObjectNotFound), (error.ErrorId, error.Kind));
        Assert.Contains("ip netns add vmps-no-such-namespace", error.RecommendedAction);
        Assert.Equal("InvalidNetworkNamespace", Assert.Throws<VmPsException>(() => NetworkNamespace.Named("../etc")).ErrorId);
    }

    public void Dispose() => scratch?.Dispose();
}
