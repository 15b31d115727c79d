using VmPs.Core.Hypervisors;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>New-Vm -Hypervisor: a hypervisor, or Auto to let the host decide.</summary>
public enum HypervisorChoice
{
    /// <summary>Cloud Hypervisor when it is installed and KVM works, else QEMU.</summary>
    Auto,
    CloudHypervisor,
    Qemu,
}

internal static class HypervisorChoiceExtensions
{
    public static HypervisorKind? ToKind(this HypervisorChoice choice) => choice switch
    {
        HypervisorChoice.Auto => null,
        HypervisorChoice.CloudHypervisor => HypervisorKind.CloudHypervisor,
        HypervisorChoice.Qemu => HypervisorKind.Qemu,
        _ => throw new ArgumentOutOfRangeException(nameof(choice), choice, null),
    };
}
