using System.Globalization;
using System.Text;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>A program in the fake guest that accepted a vsock connection on some port.</summary>
internal delegate Task FakeGuestService(Stream connection, CancellationToken cancellationToken);

internal static class FakeGuestServices
{
    /// <summary>Sends back every byte it receives until the host closes its side.</summary>
    public static readonly FakeGuestService Echo = (connection, cancellationToken) => connection.CopyToAsync(connection, cancellationToken);
}

/// <summary>
/// CH's hybrid vsock socket, host to guest: "CONNECT port\n" is answered "OK hostport\n" when a guest
/// service listens on the port, then the connection belongs to that service; otherwise CH closes it.
/// </summary>
internal sealed class FakeHybridVsock : IAsyncDisposable
{
    // CH numbers the host side of each proxied connection with a local port counter.
    private int nextHostPort = 1_073_741_824;
    private readonly IReadOnlyDictionary<uint, FakeGuestService> services;
    private readonly FakeUnixServer server;

    public FakeHybridVsock(string socketPath, IReadOnlyDictionary<uint, FakeGuestService> services)
    {
        this.services = services;
        server = new FakeUnixServer(socketPath, ServeAsync);
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();

    private async Task ServeAsync(Stream connection, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(connection, cancellationToken).ConfigureAwait(false);
        if (line is null
            || !line.StartsWith("CONNECT ", StringComparison.Ordinal)
            || !uint.TryParse(line.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || !services.TryGetValue(port, out var service))
        {
            return;
        }

        var hostPort = Interlocked.Increment(ref nextHostPort);
        await connection.WriteAsync(Encoding.ASCII.GetBytes($"OK {hostPort.ToString(CultureInfo.InvariantCulture)}\n"), cancellationToken).ConfigureAwait(false);
        await service(connection, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string?> ReadLineAsync(Stream connection, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var buffer = new byte[1];
        while (line.Length < 64)
        {
            if (await connection.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) == 0)
            {
                return null;
            }

            if (buffer[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)buffer[0]);
        }

        return null;
    }
}
