using System.Net.Sockets;

namespace VmPs.Core.Processes;

/// <summary>A stream to a host program's unix socket, for HttpClient's ConnectCallback (Cloud Hypervisor's API, Caddy's admin API).</summary>
internal static class UnixSocketStreams
{
    public static async ValueTask<Stream> ConnectAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
