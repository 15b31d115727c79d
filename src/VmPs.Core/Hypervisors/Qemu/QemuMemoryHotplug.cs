using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// Memory of a q35 VM beyond what it booted with: a virtio-mem device over an anonymous RAM backend as large as the room
/// up to <see cref="VmLaunchSpec.MaxMemoryMiB"/>, of which the guest uses what the device's requested-size asks for. The
/// machine's own RAM stays the boot size, so a restore builds the same machine from <see cref="VmLaunchSpec.BootMemoryMiB"/>
/// and the device's state (its plugged blocks) comes with the saved stream; the backend is not shared, so x-ignore-shared
/// never leaves its contents out. VMs with virtio-fs shares get no device: vhost-user needs every byte of guest RAM in a
/// shared file, and a second shared file would not be in a checkpoint's RAM file.
/// </summary>
internal static class QemuMemoryHotplug
{
    /// <summary>The block the guest plugs and unplugs at once: a Linux memory block on x86-64, as for every driver.</summary>
    private const int BlockMiB = CloudHypervisor.CloudHypervisorVmConfigBuilder.HotplugBlockMiB;

    private const string DeviceId = "vmem";

    private const string BackendId = "vmem0";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>MiB of hot-pluggable room a VM booting with <paramref name="spec"/> gets; 0: none.</summary>
    public static int RoomMiB(VmLaunchSpec spec) =>
        spec.Shares.Count > 0 ? 0 : Math.Max(0, (spec.MaxMemoryMiB ?? 0) - BootMiB(spec)) / BlockMiB * BlockMiB;

    /// <summary>The size of the machine's own RAM (QEMU's -m): what the VM booted with.</summary>
    public static int BootMiB(VmLaunchSpec spec) => spec.BootMemoryMiB ?? spec.MemoryMiB;

    /// <summary>The -m value: the boot size, and the room for the device when there is any.</summary>
    public static string MemoryArgument(VmLaunchSpec spec) => RoomMiB(spec) is var room and > 0
        ? Invariant($"{BootMiB(spec)}M,maxmem={BootMiB(spec) + room}M")
        : Invariant($"{BootMiB(spec)}M");

    /// <summary>The backend and device arguments, with the memory beyond the boot size plugged from the start (a restore's).</summary>
    public static IEnumerable<string> Arguments(VmLaunchSpec spec) => RoomMiB(spec) is var room and > 0
        ?
        [
            // reserve=off: the room is address space only until the guest plugs blocks.
            "-object", Invariant($"memory-backend-ram,id={BackendId},size={room}M,reserve=off"),
            "-device", Invariant($"virtio-mem-pci,id={DeviceId},memdev={BackendId},block-size={BlockMiB}M,requested-size={spec.MemoryMiB - BootMiB(spec)}M"),
        ]
        : [];

    /// <summary>
    /// Asks the guest for <paramref name="memoryMiB"/> in all and waits until it has plugged or unplugged the blocks;
    /// when it does not within <paramref name="timeout"/>, asks for what it had again and throws.
    /// </summary>
    public static async Task ResizeAsync(QmpClient qmp, int memoryMiB, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var summary = await qmp.ExecuteAsync("query-memory-size-summary", cancellationToken).ConfigureAwait(false);
        var bootMiB = (int)((summary?["base-memory"]?.GetValue<long>() ?? throw Protocol("query-memory-size-summary")) >> 20);
        var device = (await qmp.ExecuteAsync("query-memory-devices", cancellationToken).ConfigureAwait(false) as JsonArray ?? throw Protocol("query-memory-devices"))
            .FirstOrDefault(entry => entry?["type"]?.GetValue<string>() == "virtio-mem" && entry["data"]?["id"]?.GetValue<string>() == DeviceId)?["data"];
        if (device is null)
        {
            throw Refused(memoryMiB, "it was started without room for more memory (a VM with shared folders, or one started before VmPs plugged memory, has none)");
        }

        var maxMiB = bootMiB + (int)(device["max-size"]!.GetValue<long>() >> 20);
        if (memoryMiB > maxMiB)
        {
            throw new VmPsException(
                VmPsErrorIds.VmMemoryAboveMaximum,
                VmPsErrorKind.InvalidArgument,
                Invariant($"QEMU cannot give this running VM {memoryMiB} MiB: it was started with room for {maxMiB} MiB at most."),
                memoryMiB)
            {
                RecommendedAction = Invariant($"Set-Vm -MemoryMiB {maxMiB} or less, or Stop-Vm; Set-Vm -MemoryMiB {memoryMiB}; Start-Vm"),
            };
        }

        if (memoryMiB < bootMiB)
        {
            throw Refused(memoryMiB, Invariant($"it booted with {bootMiB} MiB, and only memory plugged since can be taken out"));
        }

        var previous = device["requested-size"]!.GetValue<long>();
        var wanted = (long)(memoryMiB - bootMiB) << 20;
        await SetRequestedAsync(qmp, wanted, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        while (await PluggedAsync(qmp, cancellationToken).ConfigureAwait(false) != wanted)
        {
            if (clock.Elapsed > timeout)
            {
                await SetRequestedAsync(qmp, previous, CancellationToken.None).ConfigureAwait(false);
                throw new VmPsException(
                    VmPsErrorIds.HypervisorMemoryHotplugFailed,
                    VmPsErrorKind.OperationTimeout,
                    Invariant($"The guest did not {(wanted > previous ? "take" : "give back")} the memory within {timeout.TotalSeconds:0} s (its kernel needs the virtio_mem driver; memory it uses cannot be given back): asked for {previous >> 20} MiB beyond its boot memory again."),
                    memoryMiB);
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Task SetRequestedAsync(QmpClient qmp, long bytes, CancellationToken cancellationToken) =>
        qmp.ExecuteAsync("qom-set", new JsonObject { ["path"] = DeviceId, ["property"] = "requested-size", ["value"] = bytes }, cancellationToken);

    private static async Task<long> PluggedAsync(QmpClient qmp, CancellationToken cancellationToken) =>
        (await qmp.ExecuteAsync("qom-get", new JsonObject { ["path"] = DeviceId, ["property"] = "size" }, cancellationToken).ConfigureAwait(false))?.GetValue<long>()
            ?? throw Protocol("qom-get size");

    private static VmPsException Refused(int memoryMiB, string reason) => new(
        VmPsErrorIds.VmResizeNeedsStop,
        VmPsErrorKind.InvalidOperation,
        Invariant($"QEMU cannot change this running VM to {memoryMiB} MiB: {reason}. Stop the VM first."),
        memoryMiB)
    {
        RecommendedAction = Invariant($"Stop-Vm; Set-Vm -MemoryMiB {memoryMiB}; Start-Vm"),
    };

    private static VmPsException Protocol(string command) =>
        new(VmPsErrorIds.QmpProtocolError, VmPsErrorKind.ProtocolError, $"QEMU's {command} answer is not what QEMU 7.2 documents.", command);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
