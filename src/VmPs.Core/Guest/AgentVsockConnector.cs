using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VmPs.Core.Guest;

/// <summary>Connects to the agent over kernel AF_VSOCK (QEMU with vhost-vsock-pci, guest CID and port).</summary>
public sealed class AgentVsockConnector : IAgentConnector
{
    private const AddressFamily VsockFamily = (AddressFamily)40;

    public AgentVsockConnector(uint cid, uint port)
    {
        Cid = cid;
        Port = port;
    }

    public uint Cid { get; }

    public uint Port { get; }

    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(VsockFamily, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new VsockEndPoint(Cid, Port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>struct sockaddr_vm: family, reserved, port, cid, zero padding (16 bytes).</summary>
    private sealed class VsockEndPoint(uint cid, uint port) : EndPoint
    {
        public override AddressFamily AddressFamily => VsockFamily;

        public override SocketAddress Serialize()
        {
            var address = new SocketAddress(VsockFamily, 16);
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, port);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], cid);
            for (var i = 0; i < bytes.Length; i++)
            {
                address[4 + i] = bytes[i];
            }

            return address;
        }

        public override EndPoint Create(SocketAddress socketAddress) => this;
    }
}
