using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes -Name with the names of existing VMs.</summary>
public sealed class VmNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(
            wordToComplete,
            CompletionCandidates.Read((services, cancellationToken) => services.Vms.GetAllAsync(cancellationToken), vm => (vm.Name, $"{vm.Name}: {vm.State}, {vm.Image}")));
}
