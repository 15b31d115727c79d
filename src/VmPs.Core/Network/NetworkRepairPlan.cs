namespace VmPs.Core.Network;

/// <summary>
/// What repairing a network does, decided from how it was found: every drift of its own parts is
/// repaired; of its adapters, a TAP a hypervisor is attached to is put back in place, and the TAP of
/// a VM that is not running is unplugged. A running VM's TAP is never deleted or replaced: when its
/// hypervisor is no longer attached, only a restart reconnects the VM, so that is reported instead.
/// </summary>
internal sealed record NetworkRepairPlan(IReadOnlyList<string> Repairs, IReadOnlyList<string> Unrepairable, IReadOnlyList<AdapterRecord> Unplug)
{
    public static NetworkRepairPlan For(NetworkHealth found, IReadOnlySet<Guid> activeVms)
    {
        var repairs = found.Drift.Select(drift => drift.Repair).ToList();
        var unrepairable = new List<string>();
        var unplug = new List<AdapterRecord>();
        var network = found.Network;
        foreach (var (adapter, tap, status, problem) in found.Adapters)
        {
            var vm = $"VM '{adapter.VmName}'";
            switch (status)
            {
                case NetworkAdapterStatus.Degraded:
                    repairs.Add($"put TAP {adapter.Tap} of {vm} back up on bridge {network.Bridge} with MTU {network.Mtu}{(network.Isolated ? ", isolated" : string.Empty)}");
                    break;
                case NetworkAdapterStatus.Detached or NetworkAdapterStatus.Leftover when activeVms.Contains(adapter.VmId):
                    unrepairable.Add($"{Capitalized(problem!)}. {vm} is active (starting, running or stopping), so its TAP is left as it is; if it is running, restart it (Stop-Vm, then Start-Vm) to plug it in again.");
                    break;
                case NetworkAdapterStatus.Detached or NetworkAdapterStatus.Leftover when tap is { HasCarrier: true }:
                    unrepairable.Add($"{Capitalized(problem!)}, and a process VmPs does not know has it open. Stop that process, then repair again.");
                    break;
                case NetworkAdapterStatus.Detached or NetworkAdapterStatus.Leftover:
                    repairs.Add(tap is null
                        ? $"mark the adapter of {vm}, which is not running, unplugged"
                        : $"delete TAP {adapter.Tap} of {vm}, which is not running");
                    unplug.Add(adapter);
                    break;
            }
        }

        return new NetworkRepairPlan(repairs, unrepairable, unplug);
    }

    private static string Capitalized(string sentence) => char.ToUpperInvariant(sentence[0]) + sentence[1..];
}
