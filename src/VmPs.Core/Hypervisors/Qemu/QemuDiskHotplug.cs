using System.Text.Json.Nodes;

namespace VmPs.Core.Hypervisors.Qemu;

/// <summary>
/// Disks hot-plugged into a running q35 VM over QMP: the image opened as a block node (blockdev-add), then a
/// virtio-blk-pci device with the volume's serial in a free spare PCIe root port (device_add). Unplugging asks the
/// guest to release the device (device_del), waits until QEMU has removed it, then closes the image (blockdev-del).
/// </summary>
internal static class QemuDiskHotplug
{
    public static async Task AttachAsync(QmpClient qmp, string deviceId, DiskSpec disk, CancellationToken cancellationToken)
    {
        var port = await FreePortAsync(qmp, cancellationToken).ConfigureAwait(false);
        var node = NodeName(deviceId);
        await qmp.ExecuteAsync(
            "blockdev-add",
            new JsonObject
            {
                ["driver"] = disk.Format == DiskImageFormat.Qcow2 ? "qcow2" : "raw",
                ["node-name"] = node,
                ["read-only"] = disk.ReadOnly,
                ["file"] = FileNode(disk.Path),
            },
            cancellationToken).ConfigureAwait(false);
        try
        {
            await qmp.ExecuteAsync(
                "device_add",
                new JsonObject { ["driver"] = "virtio-blk-pci", ["id"] = deviceId, ["drive"] = node, ["serial"] = disk.Serial, ["bus"] = port },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await qmp.ExecuteAsync("blockdev-del", new JsonObject { ["node-name"] = node }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public static async Task DetachAsync(QmpClient qmp, string deviceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await QemuPeripherals.IsPresentAsync(qmp, deviceId, cancellationToken).ConfigureAwait(false))
        {
            await QemuPeripherals.UnplugAsync(
                qmp,
                deviceId,
                timeout,
                () => new VmPsException(
                    VmPsErrorIds.HypervisorDiskHotplugFailed,
                    VmPsErrorKind.OperationTimeout,
                    $"The guest did not release disk '{deviceId}' within {timeout.TotalSeconds:0} s of the unplug request.",
                    deviceId),
                cancellationToken).ConfigureAwait(false);
        }

        var nodes = await qmp.ExecuteAsync("query-named-block-nodes", new JsonObject { ["flat"] = true }, cancellationToken).ConfigureAwait(false);
        if (nodes is JsonArray list && list.Any(entry => entry?["node-name"]?.GetValue<string>() == NodeName(deviceId)))
        {
            await qmp.ExecuteAsync("blockdev-del", new JsonObject { ["node-name"] = NodeName(deviceId) }, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string NodeName(string deviceId) => "node-" + deviceId;

    /// <summary>
    /// The first spare root port (<see cref="QemuCommandLine.HotplugPort"/>) no hot-plugged device sits behind. QEMU
    /// itself would accept a second device on an occupied port, and query-pci lists a device only once the guest
    /// has powered its slot, so the ports in use are read from each device's parent bus.
    /// </summary>
    private static async Task<string> FreePortAsync(QmpClient qmp, CancellationToken cancellationToken)
    {
        var ports = Enumerable.Range(0, QemuCommandLine.HotplugPortCount).Select(QemuCommandLine.HotplugPort).ToList();
        var occupied = new HashSet<string>(StringComparer.Ordinal);
        foreach (var device in (await QemuPeripherals.NamedDevicesAsync(qmp, cancellationToken).ConfigureAwait(false)).Except(ports))
        {
            var bus = await qmp.ExecuteAsync("qom-get", new JsonObject { ["path"] = "/machine/peripheral/" + device, ["property"] = "parent_bus" }, cancellationToken)
                .ConfigureAwait(false);
            // "/machine/peripheral/hotplug0/hotplug0": the port's own secondary bus.
            if (bus?.GetValue<string>().Split('/') is [_, "machine", "peripheral", var port, ..])
            {
                occupied.Add(port);
            }
        }

        return ports.FirstOrDefault(port => !occupied.Contains(port))
            ?? throw new VmPsException(
                VmPsErrorIds.HypervisorDiskHotplugFailed,
                VmPsErrorKind.LimitsExceeded,
                $"All {QemuCommandLine.HotplugPortCount} hot-plug slots of the VM are in use.",
                QemuCommandLine.HotplugPortCount)
            {
                RecommendedAction = "Dismount a hot-plugged volume, or stop the VM and attach the volume while it is off.",
            };
    }

    /// <summary>
    /// The protocol node under the disk's format node. QEMU's "file" driver refuses a block device (an LvmThin volume
    /// is one: "'file' driver requires ... to be a regular file"); "host_device" opens those.
    /// </summary>
    internal static JsonObject FileNode(string path) =>
        new() { ["driver"] = Storage.BlockDevices.Is(path) ? "host_device" : "file", ["filename"] = path };
}
