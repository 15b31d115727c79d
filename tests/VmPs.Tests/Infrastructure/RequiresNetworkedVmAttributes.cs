using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// A theory that runs QEMU for VMs on VmPs networks without waiting for a guest: the network prerequisites (root,
/// /dev/net/tun, ip, nft, iptables, tc) and the programs New-Vm and Start-Vm run.
/// </summary>
public sealed class RequiresNetworkedVmTheoryAttribute : TheoryAttribute
{
    private static readonly string[] Programs = ["qemu-system-x86_64", "mkfs.erofs", "mkfs.ext4"];

    public RequiresNetworkedVmTheoryAttribute()
    {
        Skip = SkipReason();
    }

    public static string? SkipReason()
    {
        var missing = Programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        return NetworkTestPrerequisites.SkipReason() ?? (missing.Length > 0 ? $"skipped: {string.Join(", ", missing)} not on PATH" : null);
    }
}

/// <summary>The fact of <see cref="RequiresNetworkedVmTheoryAttribute"/>.</summary>
public sealed class RequiresNetworkedVmFactAttribute : FactAttribute
{
    public RequiresNetworkedVmFactAttribute()
    {
        Skip = RequiresNetworkedVmTheoryAttribute.SkipReason();
    }
}
