using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VmPs.Core.Network;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes network names: the networks in the state database, and `default`, which is created on first use.</summary>
public sealed class NetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(wordToComplete, StoredNetworks()
            .Append((Name: NetworkManager.DefaultNetworkName, ToolTip: $"{NetworkManager.DefaultNetworkName}: {NetworkManager.DefaultSubnet}, NAT (created on first use)"))
            .DistinctBy(candidate => candidate.Name, StringComparer.OrdinalIgnoreCase));

    private static IEnumerable<(string Name, string ToolTip)> StoredNetworks() =>
        CompletionCandidates.Read(
            (services, cancellationToken) => services.Networks.ListAsync(cancellationToken),
            network => (network.Name, $"{network.Name}: {network.Subnet}{(network.Nat ? ", NAT" : string.Empty)}"));
}
