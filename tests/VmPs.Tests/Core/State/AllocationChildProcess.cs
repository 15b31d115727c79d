using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Images;
using VmPs.Tests.Core.Network;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Protocol.Files;
using VmPs.Tests.Security;

/// <summary>
/// Lets a test run allocations from separate OS processes: `dotnet VmPs.Tests.dll` with
/// DOTNET_STARTUP_HOOKS pointing at this assembly runs <see cref="Initialize"/> before the
/// (empty) generated entry point. Outside such a child it does nothing.
/// </summary>
public static class StartupHook
{
    public const string DatabaseVariable = "VMPS_TEST_ALLOCATE_DB";
    public const string PrefixVariable = "VMPS_TEST_ALLOCATE_PREFIX";
    public const string CountVariable = "VMPS_TEST_ALLOCATE_COUNT";

    public static void Initialize()
    {
        NetworkAllocationChild.RunIfRequested();
        ImageAddChild.RunIfRequested();
        VmCommandChild.RunIfRequested();
        TreeExtractChild.RunIfRequested();
        PrivateStateChild.RunIfRequested();
        var database = Environment.GetEnvironmentVariable(DatabaseVariable);
        if (database is null)
        {
            return;
        }

        var prefix = Environment.GetEnvironmentVariable(PrefixVariable)!;
        var count = int.Parse(Environment.GetEnvironmentVariable(CountVariable)!, System.Globalization.CultureInfo.InvariantCulture);
        var store = new VmStore(new StateDatabase(database));
        for (var i = 0; i < count; i++)
        {
            var vm = store.InsertAsync(StoreFixtures.Vm($"{prefix}-{i}"), CancellationToken.None).GetAwaiter().GetResult();
            Console.WriteLine($"{vm.Name} {vm.VsockCid} {vm.MacAddress}");
        }

        Environment.Exit(0);
    }
}
