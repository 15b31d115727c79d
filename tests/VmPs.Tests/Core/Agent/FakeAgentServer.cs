using System.Net.Sockets;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// A Unix socket server that runs a scripted agent per connection, for host-client behaviour the real
/// agent never shows (another protocol version, malformed frames).
/// </summary>
public sealed class FakeAgentServer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly string _directory = Directory.CreateTempSubdirectory("vmps-fake-agent-").FullName;
    private readonly Task _accepting;

    public FakeAgentServer(Func<NetworkStream, Task> serve)
    {
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _accepting = AcceptAsync(serve);
    }

    public string SocketPath => Path.Combine(_directory, "agent.sock");

    /// <summary>Reads and discards until the client closes its end.</summary>
    public static async Task DrainUntilHangupAsync(Stream stream)
    {
        var buffer = new byte[4096];
        while (await stream.ReadAsync(buffer) > 0)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _accepting;
        Directory.Delete(_directory, recursive: true);
    }

    private async Task AcceptAsync(Func<NetworkStream, Task> serve)
    {
        try
        {
            while (true)
            {
                var connection = await _listener.AcceptAsync();
                _ = Task.Run(async () =>
                {
                    await using var stream = new NetworkStream(connection, ownsSocket: true);
                    try
                    {
                        await serve(stream);
                    }
                    catch (IOException)
                    {
                        // The client hung up first.
                    }
                });
            }
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            // Disposed.
        }
    }
}
