using System.Globalization;

namespace VmPs.Bench.Shared;

/// <summary>The "--name N" counts a benchmark takes, and the host's load it reports beside its figures.</summary>
internal static class BenchArguments
{
    /// <summary>Each "--name N" of <paramref name="args"/> over <paramref name="defaults"/> (keyed by "--name").</summary>
    public static IReadOnlyDictionary<string, int> ParseCounts(string[] args, IReadOnlyDictionary<string, int> defaults)
    {
        var counts = new Dictionary<string, int>(defaults);
        for (var index = 0; index < args.Length; index += 2)
        {
            if (!counts.ContainsKey(args[index]) || index + 1 == args.Length)
            {
                throw new ArgumentException($"Unknown option '{args[index]}': use {string.Join(" and ", defaults.Keys.Select(name => name + " N"))}.");
            }

            counts[args[index]] = int.Parse(args[index + 1], CultureInfo.InvariantCulture);
        }

        return counts;
    }

    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
