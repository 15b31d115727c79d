using System.Net.Sockets;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// A Unix socket server that runs a scripted agent per connection, for host-client behaviour the real
/// agent never shows (another protocol version, malformed frames).
/// </summary>
public sealed class FakeAgentServer : IAsyncDisposable
{
    private readonly Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly string directory = Directory.CreateTempSubdirectory("vmps-fake-agent-").FullName;
    private readonly Task accepting;

    public FakeAgentServer(Func<NetworkStream, Task> serve)
    {
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(16);
        accepting = AcceptAsync(serve);
    }

    public string SocketPath => Path.Combine(directory, "agent.sock");

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
        listener.Dispose();
        await accepting;
        Directory.Delete(directory, recursive: true);
    }

    private async Task AcceptAsync(Func<NetworkStream, Task> serve)
    {
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync();
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
