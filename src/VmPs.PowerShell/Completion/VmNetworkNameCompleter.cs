using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VmPs.Core;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes -Network with the names of existing VmPs networks.</summary>
public sealed class VmNetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        using var budget = new CancellationTokenSource(CompletionCandidates.Budget);
        try
        {
            var networks = VmManager.CreateDefault().Networks.GetAllAsync(budget.Token).GetAwaiter().GetResult();
            return CompletionCandidates.Complete(wordToComplete, networks.Select(network => (network.Name, $"{network.Name}: {network.Subnet}, {network.VmCount} VMs")));
        }
        catch (Exception exception) when (exception is VmPsException or OperationCanceledException)
        {
            return [];
        }
    }
}
