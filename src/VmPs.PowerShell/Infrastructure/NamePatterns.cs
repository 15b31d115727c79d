using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>-Name wildcard handling shared by the VM and image cmdlets.</summary>
internal static class NamePatterns
{
    /// <summary>The items whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    public static IEnumerable<T> Matching<T>(IEnumerable<T> items, Func<T, string> nameOf, string pattern)
    {
        var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
        return items.Where(item => wildcard.IsMatch(nameOf(item))).OrderBy(nameOf, StringComparer.Ordinal);
    }

    /// <summary>
    /// Names as given, with wildcard patterns expanded through <paramref name="matching"/>; a literal name
    /// stays as given so that Core reports an unknown name with its own error.
    /// </summary>
    public static IEnumerable<string> Expand(IEnumerable<string> patterns, Func<string, IEnumerable<string>> matching) =>
        patterns.SelectMany(pattern => WildcardPattern.ContainsWildcardCharacters(pattern) ? matching(pattern) : [pattern]);
}
