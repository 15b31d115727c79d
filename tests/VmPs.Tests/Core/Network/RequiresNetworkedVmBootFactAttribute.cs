using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Network;

/// <summary>A fact that boots VMs under QEMU on VmPs networks: everything a VM boot needs and everything the network core needs.</summary>
public sealed class RequiresNetworkedVmBootFactAttribute : FactAttribute
{
    public RequiresNetworkedVmBootFactAttribute()
    {
        Skip = Reason;
    }

    /// <summary>Why such a test cannot run here, or null.</summary>
    public static string? Reason => new RequiresVmBootFactAttribute().Skip ?? new RequiresNetworkFactAttribute().Skip;
}
