namespace VmPs.Protocol.Framing;

/// <summary>
/// Reads frames from a byte stream. Not thread-safe: one reader loop per connection.
/// </summary>
public sealed class FrameReader
{
    private const int InitialBufferSize = 64 * 1024;

    private readonly Stream stream;
    private byte[] buffer = new byte[InitialBufferSize];
    private int start;
    private int end;

    public FrameReader(Stream stream)
    {
        this.stream = stream;
    }

    private int Buffered => end - start;

    /// <summary>
    /// Reads the next frame. Returns null when the stream ends cleanly between frames;
    /// throws <see cref="ProtocolException"/> on a malformed header or a stream that ends inside a frame.
    /// </summary>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(FrameHeader.Size, cancellationToken).ConfigureAwait(false))
        {
            return Buffered == 0 ? null : throw new ProtocolException("The stream ended inside a frame header.");
        }

        if (!FrameHeader.TryParse(buffer.AsSpan(start, FrameHeader.Size), out var type, out var channel, out var length))
        {
            throw new ProtocolException(
                $"Received bytes that are not a frame header (limit {FrameHeader.MaxPayloadLength} bytes per payload): " +
                Convert.ToHexString(buffer, start, FrameHeader.Size));
        }

        if (!await FillAsync(FrameHeader.Size + length, cancellationToken).ConfigureAwait(false))
        {
            throw new ProtocolException($"The stream ended inside a {type} frame of {length} bytes.");
        }

        return Consume(type, channel, length);
    }

    /// <summary>
    /// Discards bytes until a frame of <paramref name="type"/> with a payload of at most
    /// <paramref name="maxPayloadLength"/> bytes that <paramref name="accept"/> approves, and returns it.
    /// Used on streams that outlive a connection (virtio-serial), where the other end may have left
    /// stale or partial frames. Returns null when the stream ends first.
    /// </summary>
    public async ValueTask<Frame?> ResyncAsync(FrameType type, int maxPayloadLength, Func<Frame, bool> accept, CancellationToken cancellationToken)
    {
        while (await FillAsync(FrameHeader.Size, cancellationToken).ConfigureAwait(false))
        {
            var magicAt = buffer.AsSpan(start, Buffered).IndexOf(FrameHeader.Magic0);
            if (magicAt < 0)
            {
                start = end;
                continue;
            }

            start += magicAt;
            if (!await FillAsync(FrameHeader.Size, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            if (FrameHeader.TryParse(buffer.AsSpan(start, FrameHeader.Size), out var candidateType, out var channel, out var length)
                && candidateType == type && length <= maxPayloadLength)
            {
                if (!await FillAsync(FrameHeader.Size + length, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                var frame = new Frame(type, channel, buffer.AsMemory(start + FrameHeader.Size, length));
                if (accept(frame))
                {
                    return Consume(type, channel, length);
                }
            }

            start++;
        }

        return null;
    }

    private Frame Consume(FrameType type, uint channel, int length)
    {
        var payload = buffer.AsSpan(start + FrameHeader.Size, length).ToArray();
        start += FrameHeader.Size + length;
        return new Frame(type, channel, payload);
    }

    /// <summary>Ensures at least <paramref name="count"/> bytes are buffered; false when the stream ends first.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (Buffered >= count)
        {
            return true;
        }

        MakeRoom(count);
        while (Buffered < count)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            end += read;
        }

        return true;
    }

    private void MakeRoom(int count)
    {
        if (start + count <= buffer.Length)
        {
            return;
        }

        var target = count > buffer.Length ? new byte[Math.Max(count, buffer.Length * 2)] : buffer;
        Buffer.BlockCopy(buffer, start, target, 0, Buffered);
        end = Buffered;
        start = 0;
        buffer = target;
    }
}
