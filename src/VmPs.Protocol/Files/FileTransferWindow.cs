using System.Buffers.Binary;

namespace VmPs.Protocol.Files;

/// <summary>
/// Credit-based flow control of file content, the same in both directions: a sender may have at most
/// <see cref="Bytes"/> unacknowledged bytes on the wire; the receiver returns credit (FileCredit) as it
/// consumes. So neither end ever holds more than the window of one transfer in memory, however large the file.
/// </summary>
public static class FileTransferWindow
{
    public const int Bytes = 4 * 1024 * 1024;

    /// <summary>Content frames are at most this large.</summary>
    public const int ChunkBytes = 256 * 1024;

    /// <summary>The receiver returns credit once it consumed this much (fewer, larger FileCredit frames).</summary>
    public const int CreditBatchBytes = 1024 * 1024;

    public static byte[] EncodeCredit(long bytes)
    {
        var payload = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(payload, bytes);
        return payload;
    }

    public static long DecodeCredit(ReadOnlySpan<byte> payload) =>
        payload.Length == sizeof(long) && BinaryPrimitives.ReadInt64BigEndian(payload) is var bytes and > 0 and <= Bytes
            ? bytes
            : throw new ProtocolException("A FileCredit frame must carry a positive 8-byte count no larger than the window.");
}
