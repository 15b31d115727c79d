using System.Globalization;
using VmPs.Core.Processes;

namespace VmPs.Core.Network;

/// <summary>
/// The receiving half of a VM's bandwidth limit: a token bucket filter on its TAP's egress (traffic
/// to the VM). Deleting the TAP deletes it. The sending half is a firewall policer (NetworkPolicy).
/// </summary>
internal static class TrafficControl
{
    private const string Executable = "tc";

    public static async Task ApplyAsync(NetworkNamespace networkNamespace, string tap, int mbps, CancellationToken cancellationToken)
    {
        var rate = string.Create(CultureInfo.InvariantCulture, $"{mbps}mbit");

        // Ten milliseconds' worth of bytes, and never less than a few full frames.
        var burst = string.Create(CultureInfo.InvariantCulture, $"{Math.Max(32 * 1024, mbps * 1_000_000L / 8 / 100)}b");
        string[] arguments = ["qdisc", "replace", "dev", tap, "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms"];
        await networkNamespace.RunStartedAsync(
            () => ExternalTool.RunCheckedAsync(Executable, arguments, cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }
}
