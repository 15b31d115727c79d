using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Network.Netlink;

/// <summary>A blocking NETLINK_ROUTE socket, opened in the calling thread's network namespace.</summary>
internal sealed class NetlinkSocket : IDisposable
{
    private const int AddressFamilyNetlink = 16;
    private const int SocketRaw = 3;
    private const int SocketCloseOnExec = 0x80000;
    private const int NetlinkRoute = 0;
    private const ushort MessageError = 2;
    private const ushort MessageDone = 3;
    private const ushort FlagRequest = 0x1;
    private const ushort FlagAcknowledge = 0x4;
    private const ushort FlagMultipart = 0x2;
    private const ushort FlagDump = 0x300;
    private const int BadMessage = 74;
    private const int ReceiveBufferLength = 64 * 1024;

    private readonly int descriptor;
    private uint sequence;

    public NetlinkSocket()
    {
        descriptor = Libc.socket(AddressFamilyNetlink, SocketRaw | SocketCloseOnExec, NetlinkRoute);
        if (descriptor < 0)
        {
            throw new NetlinkException("socket", Marshal.GetLastPInvokeError());
        }
    }

    public static ushort RequestFlags(ushort extra = 0) => (ushort)(FlagRequest | FlagAcknowledge | extra);

    public static ushort DumpFlags => FlagRequest | FlagDump;

    /// <summary>A single get: no acknowledgement, the reply is the answer.</summary>
    public static ushort GetFlags => FlagRequest;

    /// <summary>Sends a request that changes something and waits for its acknowledgement.</summary>
    public void Execute(NetlinkMessage message, string operation)
    {
        var expected = Send(message, operation);
        foreach (var _ in Receive(expected, operation))
        {
            // An acknowledged request yields no replies; anything else is ignored.
        }
    }

    /// <summary>Sends a dump (or get) request and returns every reply's type and payload.</summary>
    public List<(ushort Type, ReadOnlyMemory<byte> Payload)> Query(NetlinkMessage message, string operation)
    {
        var expected = Send(message, operation);
        return Receive(expected, operation).ToList();
    }

    public void Dispose() => _ = Libc.close(descriptor);

    private uint Send(NetlinkMessage message, string operation)
    {
        var bytes = message.ToArray(++sequence);
        if (Libc.send(descriptor, bytes, bytes.Length, 0) != bytes.Length)
        {
            throw new NetlinkException(operation, Marshal.GetLastPInvokeError());
        }

        return sequence;
    }

    /// <summary>
    /// Replies to <paramref name="expectedSequence"/> until the request is answered: an error or
    /// acknowledgement, the end of a dump, or a single-part reply. Stale replies are skipped.
    /// </summary>
    private IEnumerable<(ushort Type, ReadOnlyMemory<byte> Payload)> Receive(uint expectedSequence, string operation)
    {
        var buffer = new byte[ReceiveBufferLength];
        while (true)
        {
            var received = (int)Libc.recv(descriptor, buffer, buffer.Length, 0);
            if (received < 0)
            {
                throw new NetlinkException(operation, Marshal.GetLastPInvokeError());
            }

            var offset = 0;
            while (offset + NetlinkMessage.HeaderLength <= received)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
                var type = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 4));
                var flags = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 6));
                var messageSequence = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset + 8));
                if (length < NetlinkMessage.HeaderLength || offset + length > received)
                {
                    throw new NetlinkException(operation, BadMessage);
                }

                var payload = buffer.AsMemory(offset + NetlinkMessage.HeaderLength, length - NetlinkMessage.HeaderLength).ToArray();
                offset += (length + 3) & ~3;
                if (messageSequence != expectedSequence)
                {
                    continue;
                }

                if (type == MessageDone)
                {
                    yield break;
                }

                if (type == MessageError)
                {
                    var error = -BinaryPrimitives.ReadInt32LittleEndian(payload);
                    if (error != 0)
                    {
                        throw new NetlinkException(operation, error);
                    }

                    yield break;
                }

                yield return (type, payload);
                if ((flags & FlagMultipart) == 0)
                {
                    yield break;
                }
            }
        }
    }
}

/// <summary>A netlink request the kernel refused; <see cref="Errno"/> is the positive errno.</summary>
internal sealed class NetlinkException(string operation, int errno)
    : Exception($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public const int NoSuchDevice = 19;
    public const int Exists = 17;

    public int Errno { get; } = errno;
}
