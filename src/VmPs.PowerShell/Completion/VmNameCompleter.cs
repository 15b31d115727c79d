using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VmPs.Core;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes -Name with the names of existing VMs.</summary>
public sealed class VmNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        using var budget = new CancellationTokenSource(CompletionCandidates.Budget);
        try
        {
            var vms = ModuleServices.Current.Vms.GetAllAsync(budget.Token).GetAwaiter().GetResult();
            return CompletionCandidates.Complete(wordToComplete, vms.Select(vm => (vm.Name, $"{vm.Name}: {vm.State}, {vm.Image}")));
        }
        catch (Exception exception) when (exception is VmPsException or OperationCanceledException)
        {
            return [];
        }
    }
}
