using VmPs.Core.Processes;

namespace VmPs.Tests.Infrastructure;

/// <summary>Why a test that builds namespaces, bridges, TAPs and firewall rules cannot run here, or null when it can.</summary>
internal static class NetworkTestPrerequisites
{
    private static readonly string[] Programs = ["ip", "nft", "tc", "iptables-save", "iptables-restore"];

    public static string? SkipReason()
    {
        var missing = Programs.Where(program => DetachedProcess.FindOnPath(program) is null).ToArray();
        if (!Environment.IsPrivilegedProcess)
        {
            return "skipped: network tests need root";
        }

        if (missing.Length > 0)
        {
            return $"skipped: {string.Join(", ", missing)} not on PATH";
        }

        return File.Exists("/dev/net/tun") ? null : "skipped: no /dev/net/tun";
    }
}
