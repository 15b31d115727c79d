using System.Net;
using System.Net.Sockets;
using System.Text;
using VmPs.Core.Network;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// TCP servers and clients inside chosen namespaces (their sockets are created on the namespace's
/// thread): the server answers each connection with the client address it sees, so a test can
/// tell NAT from direct delivery.
/// </summary>
public sealed class TcpProbe : IAsyncDisposable
{
    private static readonly TimeSpan ConnectLimit = TimeSpan.FromSeconds(3);

    private readonly TcpListener listener;
    private readonly CancellationTokenSource stop = new();
    private readonly Task serving;

    private TcpProbe(TcpListener listener)
    {
        this.listener = listener;
        serving = ServeAsync();
    }

    /// <summary>Starts a server on 0.0.0.0:<paramref name="port"/> inside <paramref name="networkNamespace"/>.</summary>
    public static async Task<TcpProbe> ListenAsync(NetworkNamespace networkNamespace, int port)
    {
        var listener = await networkNamespace.RunAsync(
            () =>
            {
                var server = new TcpListener(IPAddress.Any, port);
                server.Start();
                return server;
            },
            CancellationToken.None);
        return new TcpProbe(listener);
    }

    /// <summary>Connects from inside <paramref name="networkNamespace"/>; the client address the server saw, or null when the connection failed.</summary>
    public static async Task<string?> TryConnectAsync(NetworkNamespace networkNamespace, string address, int port)
    {
        using var client = await networkNamespace.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), CancellationToken.None);
        using var limit = new CancellationTokenSource(ConnectLimit);
        try
        {
            await client.ConnectAsync(IPAddress.Parse(address), port, limit.Token);
            var buffer = new byte[64];
            var length = await client.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
            return Encoding.ASCII.GetString(buffer, 0, length);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await serving;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        stop.Dispose();
    }

    private async Task ServeAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            using var connection = await listener.AcceptSocketAsync(stop.Token);
            var peer = ((IPEndPoint)connection.RemoteEndPoint!).Address.ToString();
            await connection.SendAsync(Encoding.ASCII.GetBytes(peer), SocketFlags.None, stop.Token);
            connection.Shutdown(SocketShutdown.Both);
        }
    }
}
