using System.Globalization;
using VmPs.Core.Processes;

namespace VmPs.Core.Network;

/// <summary>
/// A VM's bandwidth limit with `tc` on its TAP: a token bucket on the TAP's egress (traffic to the
/// VM) and a policer on its ingress (traffic from the VM). Deleting the TAP deletes both.
/// </summary>
internal static class TrafficControl
{
    private const string Executable = "tc";

    public static async Task ApplyAsync(NetworkNamespace networkNamespace, string tap, int mbps, CancellationToken cancellationToken)
    {
        var rate = string.Create(CultureInfo.InvariantCulture, $"{mbps}mbit");

        // Ten milliseconds' worth of bytes, and never less than a few full frames.
        var burst = string.Create(CultureInfo.InvariantCulture, $"{Math.Max(32 * 1024, mbps * 1_000_000L / 8 / 100)}b");
        string[][] commands =
        [
            ["qdisc", "replace", "dev", tap, "root", "tbf", "rate", rate, "burst", burst, "latency", "50ms"],
            ["qdisc", "replace", "dev", tap, "handle", "ffff:", "ingress"],
            ["filter", "replace", "dev", tap, "parent", "ffff:", "protocol", "all", "prio", "1", "handle", "1",
                "matchall", "action", "police", "rate", rate, "burst", burst, "drop"],
        ];
        foreach (var arguments in commands)
        {
            await networkNamespace.RunStartedAsync(
                () => ExternalTool.RunCheckedAsync(Executable, arguments, cancellationToken),
                cancellationToken).ConfigureAwait(false);
        }
    }
}
