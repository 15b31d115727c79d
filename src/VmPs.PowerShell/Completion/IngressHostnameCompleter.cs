using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes ingress host names (-Hostname) from the state database, with the VM and port as the tooltip.</summary>
public sealed class IngressHostnameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(
            wordToComplete,
            CompletionCandidates.Read((services, cancellationToken) => services.Ingress.GetAllAsync(cancellationToken), route => (route.Hostname, $"{route.Hostname} -> {route.VmName}:{route.Port}")));
}
