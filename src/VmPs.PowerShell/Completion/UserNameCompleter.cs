using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes user names (-User, -Owner) from the state database, with the e-mail address as the tooltip.</summary>
public sealed class UserNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(
            wordToComplete,
            CompletionCandidates.Read((services, cancellationToken) => services.Users.GetAllAsync(cancellationToken), user => (user.Name, $"{user.Name}: {user.Email}")));
}
