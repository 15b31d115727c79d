using VmPs.Core.Network;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Base of the network cmdlets: the network manager in $VMPS_NETNS (or the host's own namespace),
/// and VM name resolution for the port mapping cmdlets.
/// </summary>
public abstract class NetworkCmdlet : AsyncCmdlet
{
    protected INetworkManager Manager => Services.Networks;

    protected IVmManager Vms => Services.Vms;

    protected void WriteNetwork(NetworkInfo network) => WriteTypedObject(network, PSTypeNames.VmNetwork);

    protected void WritePortMapping(PortMappingInfo mapping) => WriteTypedObject(mapping, PSTypeNames.VmPortMapping);

    /// <summary>The networks whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<NetworkInfo> MatchingNetworks(string pattern) =>
        NamePatterns.Matching(Await(Manager.GetAllAsync), network => network.Name, pattern);

    /// <summary>
    /// Runs <paramref name="process"/> for each network given as objects or as names (wildcards expand over the stored
    /// networks; a literal unknown name is NetworkNotFound, before any action).
    /// </summary>
    protected void ForEachNetwork(NetworkInfo[]? objects, IEnumerable<string> names, Action<string> process) =>
        ForEachNamed(
            objects?.Select(network => network.Name) ?? names,
            pattern => NamePatterns.Matching(Await(Manager.ListAsync), network => network.Name, pattern).Select(network => network.Name),
            name => Await(cancellationToken => Manager.GetAsync(name, cancellationToken)).Name,
            process);

    /// <summary>VMs given as objects, or by names with wildcards expanded (a literal unknown name fails with VmNotFound).</summary>
    protected IEnumerable<VmInfo> TargetVms(VmInfo[]? objects, IEnumerable<string> names) =>
        objects ?? NamePatterns.Expand(names, pattern => NamePatterns.Matching(Await(Vms.GetAllAsync), vm => vm.Name, pattern).Select(vm => vm.Name)).Select(GetVm);

    /// <summary>The VM of this name (VmNotFound otherwise).</summary>
    protected VmInfo GetVm(string name) => Await(cancellationToken => Vms.GetAsync(name, cancellationToken));
}
