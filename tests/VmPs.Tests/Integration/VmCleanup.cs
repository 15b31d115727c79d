using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

internal static class VmCleanup
{
    /// <summary>Removes every VM of a test's VMPS_HOME, running or not, so no hypervisor outlives the test.</summary>
    public static void RemoveAllVms(this IVmManager manager)
    {
        foreach (var vm in manager.GetAllAsync(CancellationToken.None).GetAwaiter().GetResult())
        {
            manager.RemoveAsync(vm.Name, force: true, CancellationToken.None).GetAwaiter().GetResult();
        }
    }
}
