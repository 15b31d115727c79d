using System.Text;

namespace VmPs.Core.Agent;

/// <summary>
/// An exec's stdout and stderr kept whole for a buffered result, each up to a limit, so that a command (or a
/// guest) printing without end is stopped with GuestOutputTooLarge instead of filling the host's memory.
/// Callers that stream (Invoke-VmCommand -Stream, Enter-Vm) read the output as it comes and need no limit.
/// </summary>
public sealed class AgentOutputBuffer(long maxBytesPerStream)
{
    /// <summary>What a buffered result holds per stream unless asked otherwise: 16 MiB.</summary>
    public const long DefaultMaxBytesPerStream = 16L * 1024 * 1024;

    private readonly MemoryStream stdout = new();
    private readonly MemoryStream stderr = new();

    public long MaxBytesPerStream { get; } = maxBytesPerStream > 0
        ? maxBytesPerStream
        : throw new ArgumentOutOfRangeException(nameof(maxBytesPerStream), maxBytesPerStream, "The output limit must be positive.");

    public string Stdout => Decode(stdout);

    public string Stderr => Decode(stderr);

    /// <summary>Keeps the chunk; false (keeping nothing of it) when its stream would pass the limit.</summary>
    public bool TryAdd(AgentOutputChunk chunk)
    {
        var target = chunk.Stream == AgentOutputStream.Stdout ? stdout : stderr;
        if (target.Length + chunk.Data.Length > MaxBytesPerStream)
        {
            return false;
        }

        target.Write(chunk.Data.Span);
        return true;
    }

    private static string Decode(MemoryStream bytes) => Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
}
