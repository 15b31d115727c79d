using VmPs.Core.Images.Disk;
using VmPs.Core.Network;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Core.Specs;

/// <summary>Reads a VM's definition as a spec: its settings, its adapter and published ports, its volume attachments, its user data and keys.</summary>
public static class VmSpecState
{
    /// <summary>The VM named <paramref name="name"/> in spec form, or null when there is none.</summary>
    public static async Task<VmSpecCurrent?> ReadAsync(IVmPsServices services, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var vm = await services.Vms.FindAsync(name, cancellationToken).ConfigureAwait(false);
        if (vm is null)
        {
            return null;
        }

        var attachments = (await services.Volumes.GetAllAsync(cancellationToken).ConfigureAwait(false))
            .SelectMany(volume => volume.Attachments)
            .Where(attachment => string.Equals(attachment.VmName, vm.Name, StringComparison.OrdinalIgnoreCase))
            .OrderBy(attachment => attachment.Path, StringComparer.Ordinal)
            .Select(attachment => new VolumeAttachOptions(attachment.Volume, attachment.Path, attachment.ReadOnly))
            .ToList();
        var userData = await VmUserData.ReadAsync(new VmFiles(vm.Directory), cancellationToken).ConfigureAwait(false);
        return new VmSpecCurrent(
            vm.Id,
            new VmCreateOptions
            {
                Name = vm.Name,
                // An ISO install has no image of its own: its blank disk's name says its firmware.
                Image = vm.IsoPath is null ? vm.Image : "",
                IsoPath = vm.IsoPath,
                Firmware = vm.IsoPath is null ? null : BlankDiskImages.FirmwareOf(vm.Image),
                Cpus = vm.Cpus,
                MemoryMiB = vm.MemoryMiB,
                DiskSizeGiB = vm.DiskSizeGiB,
                DiskFormat = vm.DiskFormat,
                Hypervisor = vm.Hypervisor,
                MachineType = vm.MachineType,
                InitMode = vm.InitMode,
                Network = await NetworkAsync(services, vm, cancellationToken).ConfigureAwait(false),
                Volumes = attachments,
                Shares = vm.Shares,
                MetadataHttpTokens = vm.MetadataHttpTokens,
                UserData = userData.UserData,
                SshPublicKeys = userData.SshPublicKeys,
            });
    }

    /// <summary>The spec of the VM named <paramref name="name"/>; throws VmNotFound.</summary>
    public static async Task<VmCreateOptions> GetAsync(IVmPsServices services, string name, CancellationToken cancellationToken) =>
        (await ReadAsync(services, name, cancellationToken).ConfigureAwait(false))?.Spec ?? throw VmErrors.NotFound(name);

    /// <summary>Touches the network manager only for a VM with an adapter: it joins $VMPS_NETNS on first use.</summary>
    private static async Task<VmNetworkOptions?> NetworkAsync(IVmPsServices services, VmInfo vm, CancellationToken cancellationToken)
    {
        var adapter = await services.Vms.GetNetworkAdapterAsync(vm.Name, cancellationToken).ConfigureAwait(false);
        if (adapter is null)
        {
            return null;
        }

        var ports = await services.Networks.GetPortMappingsAsync(vm.Id, cancellationToken).ConfigureAwait(false);
        return new VmNetworkOptions
        {
            Network = adapter.Network,
            IPAddress = adapter.IPAddress,
            MaxBandwidthMbps = adapter.MaxBandwidthMbps,
            PublishedPorts = ports
                .OrderBy(port => port.HostPort)
                .Select(port => new PortMappingOptions { HostPort = port.HostPort, VmPort = port.VmPort, Protocol = port.Protocol, HostAddress = port.HostAddress })
                .ToList(),
        };
    }
}
