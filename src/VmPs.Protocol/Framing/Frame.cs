namespace VmPs.Protocol.Framing;

/// <summary>
/// One unit on the wire. Channel 0 belongs to the connection (handshake); every request uses its own
/// channel id, chosen by the host, and all frames about that request (an exec's streams, its exit) carry it.
/// </summary>
public readonly record struct Frame(FrameType Type, uint Channel, ReadOnlyMemory<byte> Payload)
{
    public const uint ConnectionChannel = 0;
}
