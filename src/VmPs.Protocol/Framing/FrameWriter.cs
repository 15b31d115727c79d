using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace VmPs.Protocol.Framing;

/// <summary>Writes whole frames; safe to call from many tasks at once (frames never interleave).</summary>
public sealed class FrameWriter
{
    private readonly Stream stream;
    private readonly SemaphoreSlim gate = new(1, 1);

    public FrameWriter(Stream stream)
    {
        this.stream = stream;
    }

    public async ValueTask WriteAsync(FrameType type, uint channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length > FrameHeader.MaxPayloadLength)
        {
            throw new ArgumentException($"A frame payload is limited to {FrameHeader.MaxPayloadLength} bytes; got {payload.Length}.", nameof(payload));
        }

        var length = FrameHeader.Size + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            FrameHeader.Write(buffer, type, channel, payload.Length);
            payload.Span.CopyTo(buffer.AsSpan(FrameHeader.Size));
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await stream.WriteAsync(buffer.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
                await stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public ValueTask WriteJsonAsync<T>(FrameType type, uint channel, T message, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken) =>
        WriteAsync(type, channel, JsonSerializer.SerializeToUtf8Bytes(message, typeInfo), cancellationToken);

    /// <summary>Sends bulk bytes (stdin, stdout, stderr) as as many frames as needed.</summary>
    public async ValueTask WriteDataAsync(FrameType type, uint channel, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        const int chunk = 64 * 1024;
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            await WriteAsync(type, channel, data.Slice(offset, Math.Min(chunk, data.Length - offset)), cancellationToken).ConfigureAwait(false);
        }
    }
}
