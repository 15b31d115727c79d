namespace VmPs.Bench.Shared;

/// <summary>Medians and the ratio table every benchmark prints.</summary>
internal static class BenchStatistics
{
    public static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The nearest-rank percentile (0-100) of <paramref name="values"/>.</summary>
    public static TimeSpan Percentile(IEnumerable<TimeSpan> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static void Report(string measure, TimeSpan median, TimeSpan baseline, int measureWidth) =>
        Console.WriteLine($"{measure.PadRight(measureWidth)} {median.TotalSeconds,8:0.000}s {median / baseline,7:0.00}x");
}
