namespace VmPs.Guest.Processes;

/// <summary>Operations on KEY=VALUE lists; later entries override earlier ones with the same key.</summary>
internal static class EnvironmentBlock
{
    public static IReadOnlyList<string> Merge(IEnumerable<string> baseEnvironment, IEnumerable<string>? overrides)
    {
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var entry in baseEnvironment.Concat(overrides ?? []))
        {
            var key = KeyOf(entry);
            if (merged.TryAdd(key, entry))
            {
                order.Add(key);
            }
            else
            {
                merged[key] = entry;
            }
        }

        return order.Select(key => merged[key]).ToArray();
    }

    /// <summary>Adds <paramref name="key"/> only when the environment lacks it.</summary>
    public static IReadOnlyList<string> WithDefault(IReadOnlyList<string> environment, string key, string value) =>
        Get(environment, key) is null ? [.. environment, $"{key}={value}"] : environment;

    public static string? Get(IReadOnlyList<string> environment, string key)
    {
        string? value = null;
        foreach (var entry in environment)
        {
            if (KeyOf(entry) == key)
            {
                value = entry.Length > key.Length ? entry[(key.Length + 1)..] : "";
            }
        }

        return value;
    }

    private static string KeyOf(string entry) => entry.IndexOf('=') is var at and >= 0 ? entry[..at] : entry;
}
