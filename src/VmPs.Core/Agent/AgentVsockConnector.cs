using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using VmPs.Core.Native;

namespace VmPs.Core.Agent;

/// <summary>Connects to the agent over kernel AF_VSOCK (QEMU with vhost-vsock-pci, guest CID and port).</summary>
public sealed class AgentVsockConnector : IAgentConnector
{
    private const int AddressFamilyVsock = 40;
    private const int SocketStream = 1;
    private const int SocketCloseOnExec = 0x80000;

    public AgentVsockConnector(uint cid, uint port)
    {
        Cid = cid;
        Port = port;
    }

    public uint Cid { get; }

    public uint Port { get; }

    /// <summary>
    /// .NET's Socket constructor rejects AF_VSOCK, so the socket is made with libc and wrapped; the
    /// wrapped socket reports AddressFamily.Unknown, which the endpoint must match.
    /// </summary>
    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var fd = Libc.socket(AddressFamilyVsock, SocketStream | SocketCloseOnExec, 0);
        if (fd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        var vsock = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        try
        {
            await vsock.ConnectAsync(new VsockEndPoint(Cid, Port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(vsock, ownsSocket: true);
        }
        catch
        {
            vsock.Dispose();
            throw;
        }
    }

    /// <summary>struct sockaddr_vm: family, reserved, port, cid, flags and padding (16 bytes).</summary>
    private sealed class VsockEndPoint(uint cid, uint port) : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.Unknown;

        public override SocketAddress Serialize()
        {
            var address = new SocketAddress(AddressFamily.Unknown, 16);
            Span<byte> bytes = stackalloc byte[12];
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, AddressFamilyVsock);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], port);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], cid);
            for (var i = 0; i < bytes.Length; i++)
            {
                address[i] = bytes[i];
            }

            return address;
        }

        public override EndPoint Create(SocketAddress socketAddress) => this;
    }
}
