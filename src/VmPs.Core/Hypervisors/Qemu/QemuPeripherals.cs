using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>The devices of a running QEMU that were given an id (QOM's /machine/peripheral), and taking one out.</summary>
internal static class QemuPeripherals
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The ids of the devices added with one (spare ports, hot-plugged disks, vCPUs after the first on q35).</summary>
    public static async Task<IReadOnlyList<string>> NamedDevicesAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        var children = await qmp.ExecuteAsync("qom-list", new JsonObject { ["path"] = "/machine/peripheral" }, cancellationToken).ConfigureAwait(false);
        return (children as JsonArray ?? [])
            .Where(child => child?["type"]?.GetValue<string>().StartsWith("child<", StringComparison.Ordinal) == true)
            .Select(child => child!["name"]!.GetValue<string>())
            .ToList();
    }

    public static async Task<bool> IsPresentAsync(QmpClient qmp, string deviceId, CancellationToken cancellationToken) =>
        (await NamedDevicesAsync(qmp, cancellationToken).ConfigureAwait(false)).Contains(deviceId);

    /// <summary>
    /// device_del, then waits until QEMU has removed the device, which it does only once the guest lets it go (ACPI or
    /// PCIe eject); after <paramref name="timeout"/> throws what <paramref name="timedOut"/> makes.
    /// </summary>
    public static async Task UnplugAsync(QmpClient qmp, string deviceId, TimeSpan timeout, Func<VmPsException> timedOut, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!await TryRequestUnplugAsync(qmp, deviceId, cancellationToken).ConfigureAwait(false))
        {
            if (clock.Elapsed > timeout)
            {
                throw timedOut();
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        while (await IsPresentAsync(qmp, deviceId, cancellationToken).ConfigureAwait(false))
        {
            if (clock.Elapsed > timeout)
            {
                throw timedOut();
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// device_del; false while the guest is still working on the device's PCIe slot (its power indicator blinks, as it
    /// does for a while after a hot-plug), which QEMU refuses as a transient GenericError known only by its text.
    /// </summary>
    private static async Task<bool> TryRequestUnplugAsync(QmpClient qmp, string deviceId, CancellationToken cancellationToken)
    {
        try
        {
            await qmp.ExecuteAsync("device_del", new JsonObject { ["id"] = deviceId }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.QmpCommandFailed && error.Message.Contains("power indicator blinking", StringComparison.Ordinal))
        {
            return false;
        }
    }
}
