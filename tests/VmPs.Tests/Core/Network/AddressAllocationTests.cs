using System.Diagnostics;
using VmPs.Core;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Network;

/// <summary>Address, MAC and TAP name allocation in SQLite: concurrency, reserved addresses, exhaustion, release.</summary>
public sealed class AddressAllocationTests : IDisposable
{
    private NetworkTestHost? host;

    [RequiresNetworkFact]
    public async Task FiftyAllocationsFromFiveProcessesGetFiftyDistinctAddresses()
    {
        host = await NetworkTestHost.CreateAsync();
        await host.CreateNetworkAsync("pool", "10.70.0.0/24");
        var testAssembly = typeof(StartupHook).Assembly.Location;
        var children = Enumerable.Range(0, 5).Select(_ =>
        {
            var start = new ProcessStartInfo("dotnet", [testAssembly]) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["DOTNET_STARTUP_HOOKS"] = testAssembly;
            start.Environment[NetworkAllocationChild.HomeVariable] = host.Home.Paths.Root;
            start.Environment[NetworkAllocationChild.NetworkVariable] = "pool";
            start.Environment[NetworkAllocationChild.CountVariable] = "10";
            return Process.Start(start)!;
        }).ToList();

        var lines = new List<string[]>();
        foreach (var child in children)
        {
            var stderr = child.StandardError.ReadToEndAsync();
            var stdout = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            Assert.True(child.ExitCode == 0, $"child failed: {await stderr}");
            lines.AddRange(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')));
        }

        Assert.Equal(50, lines.Count);
        Assert.Equal(50, lines.Select(l => l[0]).Distinct().Count());
        Assert.Equal(50, lines.Select(l => l[1]).Distinct().Count());
        Assert.Equal(50, lines.Select(l => l[2]).Distinct().Count());
        Assert.DoesNotContain(lines, l => l[0] is "10.70.0.0" or "10.70.0.1" or "10.70.0.255");

        // Lowest-free allocation with no gaps: exactly .2 to .51.
        var expected = Enumerable.Range(2, 50).Select(i => $"10.70.0.{i}").Order(StringComparer.Ordinal);
        Assert.Equal(expected, lines.Select(l => l[0]).Order(StringComparer.Ordinal));
        var adapters = await host.Manager.GetAdaptersAsync(null, CancellationToken.None);
        Assert.Equal(50, adapters.Count);
        Assert.Equal(254 - 1 - 50, (await host.Manager.GetAsync("pool", CancellationToken.None)).FreeAddresses);
    }

    [RequiresNetworkFact]
    public async Task ReservedAddressesAreNeverHandedOutAndReleasedOnesReturnToThePool()
    {
        host = await NetworkTestHost.CreateAsync();
        await host.CreateNetworkAsync("tiny", "10.71.0.8/29");
        var manager = host.Manager;
        var vms = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();

        var addresses = new List<string>();
        foreach (var vm in vms)
        {
            addresses.Add((await manager.AllocateAdapterAsync(vm, $"vm{addresses.Count}", "tiny", null, null, CancellationToken.None)).IPAddress);
        }

        Assert.Equal(["10.71.0.10", "10.71.0.11", "10.71.0.12", "10.71.0.13", "10.71.0.14"], addresses);
        Assert.Equal(0, (await manager.GetAsync("tiny", CancellationToken.None)).FreeAddresses);
        var exhausted = await Assert.ThrowsAsync<VmPsException>(() => manager.AllocateAdapterAsync(Guid.NewGuid(), "extra", "tiny", null, null, CancellationToken.None));
        Assert.Equal(("AddressPoolExhausted", VmPsErrorKind.ResourceUnavailable), (exhausted.ErrorId, exhausted.Kind));

        await manager.ReleaseAdapterAsync(vms[2], CancellationToken.None);
        await manager.ReleaseAdapterAsync(vms[2], CancellationToken.None);
        Assert.Equal("10.71.0.12", (await manager.AllocateAdapterAsync(Guid.NewGuid(), "again", "tiny", null, null, CancellationToken.None)).IPAddress);

        await manager.ReleaseAdapterAsync(vms[0], CancellationToken.None);
        async Task<string> Requesting(string address) =>
            (await Assert.ThrowsAsync<VmPsException>(() => manager.AllocateAdapterAsync(Guid.NewGuid(), "static", "tiny", address, null, CancellationToken.None))).ErrorId;
        Assert.Equal("AddressReserved", await Requesting("10.71.0.8"));
        Assert.Equal("AddressReserved", await Requesting("10.71.0.9"));
        Assert.Equal("AddressReserved", await Requesting("10.71.0.15"));
        Assert.Equal("AddressOutOfSubnet", await Requesting("10.71.0.16"));
        Assert.Equal("AddressInUse", await Requesting("10.71.0.11"));
        Assert.Equal("InvalidIPAddress", await Requesting("10.71.0"));
        var requested = await manager.AllocateAdapterAsync(Guid.NewGuid(), "static", "tiny", "10.71.0.10", null, CancellationToken.None);
        Assert.Equal("10.71.0.10", requested.IPAddress);
    }

    public void Dispose() => host?.Dispose();
}
