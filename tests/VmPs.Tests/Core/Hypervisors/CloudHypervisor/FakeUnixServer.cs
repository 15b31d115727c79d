using System.Collections.Concurrent;
using System.Net.Sockets;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// A real Unix socket listener that hands each connection to a handler. Stopping it closes the
/// listener and every open connection, as a process exit would.
/// </summary>
internal sealed class FakeUnixServer : IAsyncDisposable
{
    private readonly Socket listener;
    private readonly Func<NetworkStream, CancellationToken, Task> handle;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<Socket, Task> connections = new();
    private readonly Task acceptLoop;

    public FakeUnixServer(string path, Func<NetworkStream, CancellationToken, Task> handle)
    {
        this.handle = handle;
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        acceptLoop = AcceptAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        stopping.Cancel();
        listener.Dispose();
        foreach (var connection in connections.Keys)
        {
            connection.Dispose();
        }

        await Task.WhenAll(connections.Values.Append(acceptLoop)).ConfigureAwait(false);
        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            connections[connection] = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        await Task.Yield();
        try
        {
            await using var stream = new NetworkStream(connection, ownsSocket: true);
            await handle(stream, stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away or the server stopped.
        }
        finally
        {
            connections.TryRemove(connection, out _);
        }
    }
}
