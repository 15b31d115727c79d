namespace VmPs.Core.Network.Firewall;

/// <summary>Which rules already on the host can stay when a chain is brought to the wanted rules.</summary>
internal static class RuleDiff
{
    /// <summary>
    /// The longest run of <paramref name="present"/> tags that also appear, in the same order, in
    /// <paramref name="wanted"/>: each kept present index mapped to its wanted index. Everything
    /// else present goes; everything else wanted is inserted around the kept rules.
    /// </summary>
    public static Dictionary<int, int> Kept(IReadOnlyList<string> present, IReadOnlyList<string> wanted)
    {
        // Longest common subsequence, by suffix lengths; chains hold a few dozen rules at most.
        var length = new int[present.Count + 1, wanted.Count + 1];
        for (var p = present.Count - 1; p >= 0; p--)
        {
            for (var w = wanted.Count - 1; w >= 0; w--)
            {
                length[p, w] = string.Equals(present[p], wanted[w], StringComparison.Ordinal)
                    ? length[p + 1, w + 1] + 1
                    : Math.Max(length[p + 1, w], length[p, w + 1]);
            }
        }

        var kept = new Dictionary<int, int>();
        for (int p = 0, w = 0; p < present.Count && w < wanted.Count;)
        {
            if (string.Equals(present[p], wanted[w], StringComparison.Ordinal))
            {
                kept[p++] = w++;
            }
            else if (length[p + 1, w] >= length[p, w + 1])
            {
                p++;
            }
            else
            {
                w++;
            }
        }

        return kept;
    }
}
