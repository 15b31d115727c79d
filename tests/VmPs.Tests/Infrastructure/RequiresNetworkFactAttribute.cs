using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>A fact that creates network namespaces, bridges, TAPs and nftables rules: root, /dev/net/tun, ip, nft and tc.</summary>
public sealed class RequiresNetworkFactAttribute : FactAttribute
{
    public RequiresNetworkFactAttribute()
    {
        var missing = new[] { "ip", "nft", "tc" }.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "skipped: network tests need root";
        }
        else if (missing.Length > 0)
        {
            Skip = $"skipped: {string.Join(", ", missing)} not on PATH";
        }
        else if (!File.Exists("/dev/net/tun"))
        {
            Skip = "skipped: no /dev/net/tun";
        }
    }
}
