using System.Globalization;
using System.Text.Json.Nodes;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// vCPUs of a q35 VM. QEMU creates only vCPU 0 itself; every other one is a CPU device with an id, on the command line
/// for those the VM boots (or is restored) with and by device_add for those plugged while it runs. So the same vCPUs
/// make the same machine however they came, a restore builds exactly what was saved, and any vCPU but the first can be
/// unplugged. vCPUs are plugged lowest socket first and unplugged highest first, so a VM with n vCPUs has sockets 0
/// to n-1 whatever its history.
/// </summary>
internal static class QemuCpuHotplug
{
    /// <summary>The -smp value: one vCPU of QEMU's own, room for <paramref name="maxCpus"/>, one socket each.</summary>
    public static string Topology(int maxCpus) =>
        string.Create(CultureInfo.InvariantCulture, $"cpus=1,maxcpus={maxCpus},sockets={maxCpus},cores=1,threads=1");

    /// <summary>The -device values of the vCPUs after the first the VM starts with.</summary>
    public static IEnumerable<string> BootDevices(string cpuModel, int cpus) =>
        Enumerable.Range(1, cpus - 1).Select(socket => string.Create(
            CultureInfo.InvariantCulture, $"{DeviceType(cpuModel)},id={DeviceId(socket)},socket-id={socket},core-id=0,thread-id=0"));

    /// <summary>QEMU's device type for a -cpu model ("max,erms=off" gives max-x86_64-cpu; the flags apply to every vCPU of the type).</summary>
    private static string DeviceType(string cpuModel) => cpuModel.Split(',')[0] + "-x86_64-cpu";

    private static string DeviceId(int socket) => string.Create(CultureInfo.InvariantCulture, $"vcpu{socket}");

    private static string PeripheralPath(int socket) => "/machine/peripheral/" + DeviceId(socket);

    /// <summary>Plugs or unplugs vCPUs until <paramref name="cpus"/> are present; unplugging waits for the guest to let each go.</summary>
    public static async Task ResizeAsync(QmpClient qmp, int cpus, TimeSpan unplugTimeout, CancellationToken cancellationToken)
    {
        var slots = await SlotsAsync(qmp, cancellationToken).ConfigureAwait(false);
        var present = slots.Where(slot => slot.QomPath is not null).ToList();
        if (cpus > slots.Count)
        {
            throw Refused(cpus, $"it was started with room for {slots.Count}");
        }

        var leaving = Enumerable.Reverse(present).Take(present.Count - cpus).ToList();
        if (leaving.FirstOrDefault(slot => slot.QomPath != PeripheralPath(slot.Socket)) is { } fixedCpu)
        {
            // VMs started before VmPs plugged vCPUs as devices have every vCPU built in.
            throw Refused(cpus, $"vCPU {fixedCpu.Socket} is built into the machine, and QEMU takes out only vCPUs plugged as devices");
        }

        await PlugAsync(qmp, slots.Where(slot => slot.QomPath is null).Take(cpus - present.Count), cancellationToken).ConfigureAwait(false);
        foreach (var id in leaving.Select(slot => DeviceId(slot.Socket)))
        {
            await QemuPeripherals.UnplugAsync(
                qmp,
                id,
                unplugTimeout,
                () => new VmPsException(
                    VmPsErrorIds.HypervisorCpuHotplugFailed,
                    VmPsErrorKind.OperationTimeout,
                    $"The guest did not let vCPU '{id}' go within {unplugTimeout.TotalSeconds:0} s of the unplug request.",
                    id),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>device_add with the slot's own properties; when one fails, those plugged before it are asked out again.</summary>
    private static async Task PlugAsync(QmpClient qmp, IEnumerable<CpuSlot> slots, CancellationToken cancellationToken)
    {
        var plugged = new List<string>();
        try
        {
            foreach (var slot in slots)
            {
                var device = new JsonObject { ["driver"] = slot.Type, ["id"] = DeviceId(slot.Socket) };
                foreach (var (name, value) in slot.Props)
                {
                    device[name] = value?.DeepClone();
                }

                await qmp.ExecuteAsync("device_add", device, cancellationToken).ConfigureAwait(false);
                plugged.Add(DeviceId(slot.Socket));
            }
        }
        catch
        {
            foreach (var id in plugged)
            {
                await qmp.ExecuteAsync("device_del", new JsonObject { ["id"] = id }, CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>query-hotpluggable-cpus: every vCPU the machine has room for, lowest socket first; QomPath is set where one is present.</summary>
    private static async Task<List<CpuSlot>> SlotsAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        var answer = await qmp.ExecuteAsync("query-hotpluggable-cpus", cancellationToken).ConfigureAwait(false) as JsonArray
            ?? throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, "QEMU's query-hotpluggable-cpus answer is not a list.", "query-hotpluggable-cpus");
        return [.. answer.Select(CpuSlot.Parse).OrderBy(slot => slot.Socket)];
    }

    private static VmPsException Refused(int cpus, string reason) => new(
        VmPsErrorIds.VmResizeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        $"QEMU cannot change this running VM to {cpus} vCPUs: {reason}. Stop the VM first.",
        cpus)
    {
        RecommendedAction = $"Stop-Vm; Set-Vm -Cpus {cpus}; Start-Vm",
    };

    private sealed record CpuSlot(string Type, int Socket, JsonObject Props, string? QomPath)
    {
        public static CpuSlot Parse(JsonNode? entry)
        {
            try
            {
                var props = entry!["props"]!.AsObject();
                return new CpuSlot(entry["type"]!.GetValue<string>(), props["socket-id"]!.GetValue<int>(), props, entry["qom-path"]?.GetValue<string>());
            }
            catch (Exception error) when (error is NullReferenceException or InvalidOperationException or FormatException)
            {
                throw new VmPsException(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, $"QEMU listed a vCPU slot without its type or socket: {entry?.ToJsonString()}", "query-hotpluggable-cpus", error);
            }
        }
    }
}
