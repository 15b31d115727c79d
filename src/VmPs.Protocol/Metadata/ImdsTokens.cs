namespace VmPs.Protocol.Metadata;

/// <summary>
/// IMDSv2 session tokens: random, each valid for the TTL it was asked with. At most <see cref="MaxTokens"/> are held;
/// a new one then displaces the one closest to expiry, so a guest asking for tokens in a loop costs bounded memory.
/// </summary>
public sealed class ImdsTokens(TimeProvider clock)
{
    public const int MinTtlSeconds = 1;
    public const int MaxTtlSeconds = 21600;
    public const int MaxTokens = 1024;

    private readonly Dictionary<string, DateTimeOffset> expiries = new(StringComparer.Ordinal);
    private readonly object gate = new();

    public string Issue(int ttlSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ttlSeconds, MinTtlSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ttlSeconds, MaxTtlSeconds);
        // Guid.NewGuid draws from the kernel's CSPRNG on Linux; RandomNumberGenerator would need OpenSSL, which the
        // guest's static binary cannot load (a token PUT took the VM's init down with it).
        var token = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (expiries.Count >= MaxTokens)
            {
                foreach (var expired in expiries.Where(pair => pair.Value <= now).Select(pair => pair.Key).ToList())
                {
                    expiries.Remove(expired);
                }

                if (expiries.Count >= MaxTokens)
                {
                    expiries.Remove(expiries.MinBy(pair => pair.Value).Key);
                }
            }

            expiries[token] = now.AddSeconds(ttlSeconds);
        }

        return token;
    }

    /// <summary>The seconds <paramref name="token"/> has left, or null when it was never issued or has expired.</summary>
    public int? RemainingSeconds(string token)
    {
        lock (gate)
        {
            if (!expiries.TryGetValue(token, out var expiry))
            {
                return null;
            }

            var left = expiry - clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                expiries.Remove(token);
                return null;
            }

            return (int)Math.Ceiling(left.TotalSeconds);
        }
    }
}
