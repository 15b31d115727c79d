using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VmPs.Core;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes user names (-User, -Owner) from the state database, with the e-mail address as the tooltip.</summary>
public sealed class UserNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        using var budget = new CancellationTokenSource(CompletionCandidates.Budget);
        try
        {
            var users = ModuleServices.Current.Users.GetAllAsync(budget.Token).GetAwaiter().GetResult();
            return CompletionCandidates.Complete(wordToComplete, users.Select(user => (user.Name, $"{user.Name}: {user.Email}")));
        }
        catch (Exception exception) when (exception is VmPsException or OperationCanceledException)
        {
            return [];
        }
    }
}
