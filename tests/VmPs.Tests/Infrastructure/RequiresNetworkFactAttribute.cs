namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that creates network namespaces, bridges, TAPs and firewall rules: root, /dev/net/tun, ip, nft, iptables and tc.</summary>
public sealed class RequiresNetworkFactAttribute : FactAttribute
{
    public RequiresNetworkFactAttribute()
    {
        Skip = NetworkTestPrerequisites.SkipReason();
    }
}
