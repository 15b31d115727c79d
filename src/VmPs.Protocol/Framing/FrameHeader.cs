using System.Buffers.Binary;

namespace VmPs.Protocol.Framing;

/// <summary>
/// The 12-byte big-endian header before every payload: magic "VP", type, flags (0), channel, payload length.
/// The magic lets a reader that joined a long-lived stream mid-way find frame boundaries again.
/// </summary>
public static class FrameHeader
{
    public const int Size = 12;

    /// <summary>Largest payload either end sends or accepts; bulk data is split into frames of at most this.</summary>
    public const int MaxPayloadLength = 1024 * 1024;

    public const byte Magic0 = (byte)'V';
    public const byte Magic1 = (byte)'P';

    public static void Write(Span<byte> destination, FrameType type, uint channel, int payloadLength)
    {
        destination[0] = Magic0;
        destination[1] = Magic1;
        destination[2] = (byte)type;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], channel);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)payloadLength);
    }

    /// <summary>Parses a header; returns false when the bytes cannot start a frame (bad magic, flags or length).</summary>
    public static bool TryParse(ReadOnlySpan<byte> source, out FrameType type, out uint channel, out int payloadLength)
    {
        type = (FrameType)source[2];
        channel = BinaryPrimitives.ReadUInt32BigEndian(source[4..]);
        var length = BinaryPrimitives.ReadUInt32BigEndian(source[8..]);
        payloadLength = (int)Math.Min(length, int.MaxValue);
        return source[0] == Magic0 && source[1] == Magic1 && source[3] == 0 && length <= MaxPayloadLength;
    }
}
