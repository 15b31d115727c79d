using System.Management.Automation;

namespace VmPs.PowerShell.Completion;

/// <summary>Turns candidate names into tab-completion results for the word being completed.</summary>
internal static class CompletionCandidates
{
    /// <summary>How long a completer may spend reading state: tab completion must never hang the prompt.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

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
