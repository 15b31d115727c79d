using System.Net;
using System.Net.Sockets;
using System.Text;
using VmPs.Core.Network;

namespace VmPs.Tests.Core.Network;

/// <summary>
/// TCP servers and clients inside chosen namespaces (their sockets are created on the namespace's
/// thread): the server (dual-stack, so IPv4 and IPv6 clients alike) answers each connection with the
/// client address it sees, so a test can tell NAT from direct delivery.
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

    /// <summary>Starts a server on [::]:<paramref name="port"/> (every IPv4 and IPv6 address) inside <paramref name="networkNamespace"/>.</summary>
    public static async Task<TcpProbe> ListenAsync(NetworkNamespace networkNamespace, int port)
    {
        var listener = await networkNamespace.RunAsync(
            () =>
            {
                var server = new TcpListener(IPAddress.IPv6Any, port);
                server.Server.DualMode = true;
                server.Start();
                return server;
            },
            CancellationToken.None);
        return new TcpProbe(listener);
    }

    /// <summary>Connects from inside <paramref name="networkNamespace"/>; the client address the server saw, or null when the connection failed.</summary>
    public static Task<string?> TryConnectAsync(NetworkNamespace networkNamespace, string address, int port) =>
        TryConnectAsync(networkNamespace, IPAddress.Parse(address), port);

    /// <summary>As above, for an address of either family (a link-local IPv6 address carries its interface as the scope id).</summary>
    public static async Task<string?> TryConnectAsync(NetworkNamespace networkNamespace, IPAddress address, int port)
    {
        using var client = await networkNamespace.RunAsync(() => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp), CancellationToken.None);
        using var limit = new CancellationTokenSource(ConnectLimit);
        try
        {
            await client.ConnectAsync(address, port, limit.Token);
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
            // Without the scope id a link-local peer carries, so it compares with the address as configured.
            var peer = ((IPEndPoint)connection.RemoteEndPoint!).Address;
            var seen = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : new IPAddress(peer.GetAddressBytes());
            await connection.SendAsync(Encoding.ASCII.GetBytes(seen.ToString()), SocketFlags.None, stop.Token);
            connection.Shutdown(SocketShutdown.Both);
        }
    }
}
