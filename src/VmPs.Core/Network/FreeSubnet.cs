namespace VmPs.Core.Network;

/// <summary>Finds a private subnet of a given size that overlaps nothing taken, to suggest in conflict errors.</summary>
internal static class FreeSubnet
{
    private const int MaximumCandidates = 1 << 16;

    private static readonly Ipv4Subnet[] PrivateRanges =
    [
        new(0x0A640000, 8), // scanned from 10.100.0.0 (VmPs's default), then wrapping round 10/8
        new(0xAC100000, 12),
        new(0xC0A80000, 16),
    ];

    public static Ipv4Subnet? Find(int prefixLength, IReadOnlyCollection<Ipv4Subnet> taken)
    {
        foreach (var range in PrivateRanges)
        {
            if (prefixLength < range.PrefixLength)
            {
                continue;
            }

            var rangeStart = range.Network & range.Mask;
            var step = 1L << (32 - prefixLength);
            var total = 1L << (prefixLength - range.PrefixLength);
            var first = (range.Network - rangeStart) / step;
            for (long i = 0; i < Math.Min(total, MaximumCandidates); i++)
            {
                var candidate = new Ipv4Subnet((uint)(rangeStart + ((first + i) % total * step)), prefixLength);
                if (!taken.Any(candidate.Overlaps))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
