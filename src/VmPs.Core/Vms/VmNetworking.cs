using VmPs.Core.Network;

namespace VmPs.Core.Vms;

/// <summary>
/// The VM lifecycle's side of networking: the adapter is allocated with the VM, plugged (its TAP made or
/// repaired) before each boot, unplugged once the VM stops and released with the VM. A VM without an
/// adapter skips all of it. Hypervisors start inside the VmPs network namespace, where the TAPs are.
/// </summary>
internal sealed class VmNetworking
{
    private readonly Lazy<NetworkManager> networks;

    /// <param name="networks">Made on first use: joining the namespace costs a thread, and many VMs have no network.</param>
    public VmNetworking(Lazy<NetworkManager> networks)
    {
        this.networks = networks;
    }

    public NetworkManager Networks => networks.Value;

    /// <summary>New-Vm: the adapter and its published ports. The caller rolls back with <see cref="ReleaseAsync"/> on failure.</summary>
    public async Task<NetworkAdapterInfo?> AttachAsync(Guid vmId, string vmName, VmNetworkOptions? options, CancellationToken cancellationToken)
    {
        if (options is null)
        {
            return null;
        }

        var adapter = await Networks.AllocateAdapterAsync(vmId, vmName, options.Network, options.IPAddress, options.MaxBandwidthMbps, cancellationToken)
            .ConfigureAwait(false);
        foreach (var mapping in options.PublishedPorts)
        {
            await Networks.AddPortMappingAsync(vmId, mapping, cancellationToken).ConfigureAwait(false);
        }

        return adapter;
    }

    /// <summary>New-Vm's network options checked as <see cref="AttachAsync"/> would, allocating nothing (New-Vm -WhatIf).</summary>
    public async Task ValidateAsync(VmNetworkOptions? options, CancellationToken cancellationToken)
    {
        if (options is null)
        {
            return;
        }

        await Networks.ValidateAdapterAsync(options.Network, options.IPAddress, options.MaxBandwidthMbps, cancellationToken).ConfigureAwait(false);
        foreach (var mapping in options.PublishedPorts)
        {
            NetworkManager.ValidatePortMapping(mapping);
        }
    }

    /// <summary>Start-Vm: makes (or repairs) the TAP on its bridge; null when the VM has no adapter.</summary>
    public async Task<NetworkAdapterInfo?> PlugAsync(Guid vmId, CancellationToken cancellationToken) =>
        await AdapterAsync(vmId, cancellationToken).ConfigureAwait(false) is null
            ? null
            : await Networks.PlugAsync(vmId, cancellationToken).ConfigureAwait(false);

    /// <summary>The VM stopped (or failed to start, or its hypervisor died): its TAP goes, its address and ports stay allocated.</summary>
    public async Task UnplugAsync(Guid vmId, CancellationToken cancellationToken)
    {
        if (await AdapterAsync(vmId, cancellationToken).ConfigureAwait(false) is { Status: not NetworkAdapterStatus.Unplugged })
        {
            await Networks.UnplugAsync(vmId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Remove-Vm (or a failed New-Vm): TAP, rules and rows go, the address returns to the pool.</summary>
    public Task ReleaseAsync(Guid vmId, CancellationToken cancellationToken) => Networks.ReleaseAdapterAsync(vmId, cancellationToken);

    /// <summary>Starts the hypervisor from inside the network namespace, so it can open its TAP.</summary>
    public Task<T> LaunchAsync<T>(Func<Task<T>> launch, CancellationToken cancellationToken) =>
        Networks.Namespace.RunStartedAsync(launch, cancellationToken);

    public async Task<NetworkAdapterInfo?> AdapterAsync(Guid vmId, CancellationToken cancellationToken) =>
        (await Networks.GetAdaptersAsync(vmId, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public async Task<IReadOnlyDictionary<Guid, NetworkAdapterInfo>> AllAdaptersAsync(CancellationToken cancellationToken) =>
        (await Networks.GetAdaptersAsync(null, cancellationToken).ConfigureAwait(false)).ToDictionary(adapter => adapter.VmId);
}
