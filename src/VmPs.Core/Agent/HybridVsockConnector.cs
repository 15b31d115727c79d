using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace VmPs.Core.Agent;

/// <summary>
/// Cloud Hypervisor hybrid vsock, host to guest: connect to the VM's vsock Unix socket, send
/// "CONNECT port\n", and CH answers "OK n\n" (n is a host-side port) once the guest accepted. From
/// then on the socket carries the guest connection.
/// </summary>
public sealed class HybridVsockConnector : IAgentConnector
{
    public const string UnreachableErrorId = "HybridVsockUnreachable";
    public const string RefusedErrorId = "HybridVsockRefused";
    public const string HandshakeFailedErrorId = "HybridVsockHandshakeFailed";

    // "OK " plus a 32-bit port number and the newline fit easily; a longer line is not CH talking.
    private const int MaxReplyLength = 32;

    public HybridVsockConnector(string socketPath, uint port)
    {
        SocketPath = socketPath;
        Port = port;
    }

    public string SocketPath { get; }

    /// <summary>The guest's vsock port.</summary>
    public uint Port { get; }

    /// <summary>
    /// Every failure is a <see cref="VmPsException"/> of kind <see cref="VmPsErrorKind.ConnectionError"/>:
    /// while the guest boots there may be no socket yet, or CH closes the connection because nothing
    /// listens on the port yet; callers retry.
    /// </summary>
    public async Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await ConnectSocketAsync(socket, cancellationToken).ConfigureAwait(false);
            var stream = new NetworkStream(socket, ownsSocket: true);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"CONNECT {Port.ToString(CultureInfo.InvariantCulture)}\n"), cancellationToken).ConfigureAwait(false);
            var reply = await ReadReplyAsync(stream, cancellationToken).ConfigureAwait(false);
            if (!IsAccepted(reply))
            {
                throw new VmPsException(
                    HandshakeFailedErrorId,
                    VmPsErrorKind.ConnectionError,
                    $"Hybrid vsock at '{SocketPath}' answered CONNECT {Port} with '{reply.TrimEnd('\n')}' instead of 'OK <port>'.",
                    SocketPath);
            }

            return stream;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ConnectSocketAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new VmPsException(
                UnreachableErrorId,
                VmPsErrorKind.ConnectionError,
                $"Cannot connect to the hybrid vsock socket '{SocketPath}': {ex.Message}.",
                SocketPath,
                ex);
        }
    }

    /// <summary>Reads byte by byte up to the newline so no agent data after it is swallowed.</summary>
    private async Task<string> ReadReplyAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var reply = new StringBuilder();
        var buffer = new byte[1];
        while (reply.Length < MaxReplyLength)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw Refused(ex);
            }

            if (read == 0)
            {
                throw Refused(null);
            }

            reply.Append((char)buffer[0]);
            if (buffer[0] == (byte)'\n')
            {
                return reply.ToString();
            }
        }

        return reply.ToString();
    }

    private VmPsException Refused(Exception? inner) => new(
        RefusedErrorId,
        VmPsErrorKind.ConnectionError,
        $"Hybrid vsock at '{SocketPath}' closed the connection to guest port {Port}: nothing in the guest accepted it (yet).",
        SocketPath,
        inner);

    private static bool IsAccepted(string reply) =>
        reply.StartsWith("OK ", StringComparison.Ordinal)
        && reply.EndsWith('\n')
        && uint.TryParse(reply.AsSpan(3, reply.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out _);
}
