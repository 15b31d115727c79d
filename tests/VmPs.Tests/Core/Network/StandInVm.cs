using VmPs.Core.Network;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// A VM stand-in for traffic tests without booting one: a namespace whose eth0 is the peer of a
/// veth created under the adapter's TAP name, so PlugAsync finds "the TAP" and puts it on the
/// bridge exactly as it would a real one. The namespace gets the adapter's address and route.
/// </summary>
public sealed class StandInVm : IDisposable
{
    private StandInVm(ScratchNamespace scratch, NetworkAdapterInfo adapter)
    {
        Scratch = scratch;
        Adapter = adapter;
    }

    public ScratchNamespace Scratch { get; }

    public NetworkAdapterInfo Adapter { get; }

    public NetworkNamespace Namespace => Scratch.Namespace;

    public string Address => Adapter.IPAddress;

    public static async Task<StandInVm> CreateAsync(NetworkTestHost host, string vmName, string network)
    {
        var scratch = await ScratchNamespace.CreateAsync();
        try
        {
            var vmId = Guid.NewGuid();
            var adapter = await host.Manager.AllocateAdapterAsync(vmId, vmName, network, null, null, CancellationToken.None);
            await host.Scratch.IpAsync("link", "add", adapter.Tap, "type", "veth", "peer", "name", "eth0", "netns", scratch.Name);
            adapter = await host.Manager.PlugAsync(vmId, CancellationToken.None);
            await scratch.IpAsync("addr", "add", $"{adapter.IPAddress}/{adapter.PrefixLength}", "dev", "eth0");
            await scratch.IpAsync("link", "set", "eth0", "up");
            await scratch.IpAsync("route", "add", "default", "via", adapter.Gateway);
            return new StandInVm(scratch, adapter);
        }
        catch
        {
            scratch.Dispose();
            throw;
        }
    }

    public void Dispose() => Scratch.Dispose();
}
