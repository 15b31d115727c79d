using System.Management.Automation;
using VmPs.Core;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Completion;

/// <summary>Turns candidate names into tab-completion results for the word being completed.</summary>
internal static class CompletionCandidates
{
    /// <summary>How long a completer may spend reading state: tab completion must never hang the prompt.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The candidates read from the state within <see cref="Budget"/>: none when reading fails or takes longer, as a
    /// completer must never throw at the prompt.
    /// </summary>
    public static IReadOnlyList<(string Name, string ToolTip)> Read<T>(
        Func<IVmPsServices, CancellationToken, Task<IReadOnlyList<T>>> read, Func<T, (string Name, string ToolTip)> describe)
    {
        using var budget = new CancellationTokenSource(Budget);
        try
        {
            return read(ModuleServices.Current, budget.Token).GetAwaiter().GetResult().Select(describe).ToList();
        }
        catch (Exception exception) when (exception is VmPsException or OperationCanceledException)
        {
            return [];
        }
    }

    public static IEnumerable<CompletionResult> Complete(string wordToComplete, IEnumerable<(string Name, string ToolTip)> candidates)
    {
        var prefix = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return candidates
            .Where(candidate => prefix.IsMatch(candidate.Name))
            .OrderBy(candidate => candidate.Name, StringComparer.Ordinal)
            .Select(candidate => new CompletionResult(Quote(candidate.Name), candidate.Name, CompletionResultType.ParameterValue, candidate.ToolTip))
            .ToList();
    }

    private static string Quote(string name) =>
        name.All(character => char.IsLetterOrDigit(character) || character is '-' or '_' or '.')
            ? name
            : $"'{name.Replace("'", "''", StringComparison.Ordinal)}'";
}
