using System.Globalization;
using VmPs.Core;
using VmPs.Core.Network;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// The network side of the allocation child process (see StartupHook): allocates adapters on an
/// existing network and prints "address mac tap" per line. Allocation touches only the database,
/// so the child needs no namespace.
/// </summary>
public static class NetworkAllocationChild
{
    public const string HomeVariable = "VMPS_TEST_NET_ALLOCATE_HOME";
    public const string NetworkVariable = "VMPS_TEST_NET_ALLOCATE_NETWORK";
    public const string CountVariable = "VMPS_TEST_NET_ALLOCATE_COUNT";

    /// <summary>Runs and exits the process when asked to by the environment; otherwise returns.</summary>
    public static void RunIfRequested()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (home is null)
        {
            return;
        }

        var manager = new NetworkManager(new VmPsPaths(home), NetworkNamespace.Current);
        var network = Environment.GetEnvironmentVariable(NetworkVariable)!;
        var count = int.Parse(Environment.GetEnvironmentVariable(CountVariable)!, CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            var adapter = manager.AllocateAdapterAsync(Guid.NewGuid(), $"vm{Environment.ProcessId}-{i}", network, null, null, CancellationToken.None)
                .GetAwaiter().GetResult();
            Console.WriteLine($"{adapter.IPAddress} {adapter.MacAddress} {adapter.Tap}");
        }

        Environment.Exit(0);
    }
}
