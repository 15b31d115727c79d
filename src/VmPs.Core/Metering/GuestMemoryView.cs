namespace VmPs.Core.Metering;

/// <summary>The guest kernel's own view of its memory (MemTotal, MemAvailable), as its agent reported it.</summary>
public sealed record GuestMemoryView(long TotalBytes, long AvailableBytes)
{
    /// <summary>
    /// The agent's figures when they are possible for a VM given <paramref name="configuredBytes"/> of memory: a total
    /// above zero and at most that, and no more available than the total; null otherwise (an agent that sent none,
    /// or a guest that lies beyond what it could have).
    /// </summary>
    public static GuestMemoryView? Validate(long? totalBytes, long? availableBytes, long configuredBytes) =>
        totalBytes is > 0 and var total && total <= configuredBytes
        && availableBytes is >= 0 and var available && available <= total
            ? new GuestMemoryView(total, available)
            : null;
}
