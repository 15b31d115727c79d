using System.Net;
using System.Net.Sockets;
using System.Text;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Registry;

/// <summary>
/// A registry that answers with chunked bodies (no Content-Length) that never end: the manifest and the bearer
/// token are read only up to their limit, and the pull fails with RegistryResponseTooLarge. The real docker-registry
/// always sends a Content-Length, so this one is a raw HTTP/1.1 server on 127.0.0.1 that counts what it managed to send.
/// </summary>
public sealed class HostileRegistryTests : IDisposable
{
    private const long EndlessBytes = 512L << 20;
    private const long SentBound = 48L << 20;
    private readonly ScratchDirectory scratch = new();

    [Fact]
    public async Task AnEndlessChunkedManifestIsReadOnlyUpToItsLimit()
    {
        using var server = new EndlessRegistry(requireToken: false);

        var error = await Assert.ThrowsAsync<VmPsException>(() => PullAsync(server));

        Assert.Equal(("RegistryResponseTooLarge", VmPsErrorKind.LimitsExceeded), (error.ErrorId, error.Kind));
        Assert.True(server.Sent < SentBound, $"the registry sent {server.Sent >> 20} MiB before the client stopped reading");
    }

    [Fact]
    public async Task AnEndlessChunkedTokenResponseIsReadOnlyUpToItsLimit()
    {
        using var server = new EndlessRegistry(requireToken: true);

        var error = await Assert.ThrowsAsync<VmPsException>(() => PullAsync(server));

        Assert.Equal(("RegistryResponseTooLarge", VmPsErrorKind.LimitsExceeded), (error.ErrorId, error.Kind));
        Assert.Contains("token", error.Message);
        Assert.True(server.Sent < SentBound, $"the token service sent {server.Sent >> 20} MiB before the client stopped reading");
    }

    public void Dispose() => scratch.Dispose();

    private Task<ImageInfo> PullAsync(EndlessRegistry server) =>
        new ImageManager(new VmPsPaths(scratch.Combine("home"))).AddAsync(
            new RegistryImageSource(ImageReference.Parse($"127.0.0.1:{server.Port}/hostile:latest"), null, OciPlatform.Default, insecure: false),
            new ImageAddOptions { Name = "hostile" },
            null,
            CancellationToken.None);

    /// <summary>
    /// Answers the manifest (or, with <c>requireToken</c>, first a 401 bearer challenge and then the token) with a
    /// chunked body of JSON whitespace that goes on for 512 MiB; each connection is served until the client goes.
    /// </summary>
    private sealed class EndlessRegistry : IDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly bool requireToken;
        private readonly CancellationTokenSource stop = new();
        private long sent;

        public EndlessRegistry(bool requireToken)
        {
            this.requireToken = requireToken;
            listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public long Sent => Interlocked.Read(ref sent);

        public void Dispose()
        {
            stop.Cancel();
            listener.Stop();
        }

        private async Task AcceptAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                try
                {
                    while (await ReadRequestAsync(stream) is { } request)
                    {
                        var path = request.Split(' ')[1];
                        var authorized = request.Contains("Authorization: Bearer", StringComparison.OrdinalIgnoreCase);
                        if (path.StartsWith("/v2/", StringComparison.Ordinal) && requireToken && !authorized)
                        {
                            await WriteAsync(stream, $"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:{Port}/token\",service=\"hostile\"\r\nContent-Length: 0\r\n\r\n");
                            continue;
                        }

                        await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n");
                        var chunk = Encoding.ASCII.GetBytes($"{64 * 1024:x}\r\n{new string(' ', 64 * 1024)}\r\n");
                        for (long body = 0; body < EndlessBytes; body += 64 * 1024)
                        {
                            await stream.WriteAsync(chunk, stop.Token);
                            Interlocked.Add(ref sent, chunk.Length);
                        }

                        return;
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
                {
                    // The client stopped reading and closed the connection: what this test waits for.
                }
            }
        }

        private static async Task<string?> ReadRequestAsync(NetworkStream stream)
        {
            var request = new StringBuilder();
            var buffer = new byte[1];
            while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(buffer) == 0)
                {
                    return null;
                }

                request.Append((char)buffer[0]);
            }

            return request.ToString();
        }

        private async Task WriteAsync(NetworkStream stream, string text) => await stream.WriteAsync(Encoding.ASCII.GetBytes(text), stop.Token);
    }
}
