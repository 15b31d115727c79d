using System.Net;
using System.Net.Sockets;
using System.Text;
using VmPs.Protocol.Metadata;

namespace VmPs.Tests.Protocol.Metadata;

/// <summary>The HTTP side of IMDS, over real TCP on 127.0.0.1, with what a hostile guest process may send.</summary>
public sealed class ImdsServerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly ImdsServer server;
    private readonly Task running;
    private readonly List<string> log = [];

    public ImdsServerTests()
    {
        var metadata = new InstanceMetadata { InstanceId = "i-0123456789abcdef0", Hostname = "web1", TokensRequired = true };
        server = new ImdsServer(new IPEndPoint(IPAddress.Loopback, 0), new ImdsService(metadata, TimeProvider.System));
        running = server.RunAsync(message => { lock (log) { log.Add(message); } });
    }

    public void Dispose()
    {
        server.Dispose();
        Assert.True(running.Wait(Bound));
        Assert.Empty(log);
    }

    [Fact]
    public async Task A_token_put_and_a_get_share_one_kept_alive_connection()
    {
        using var client = await ConnectAsync();
        var put = await ExchangeAsync(client, "PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", put, StringComparison.Ordinal);
        Assert.Contains("X-Aws-Ec2-Metadata-Token-Ttl-Seconds: 60\r\n", put, StringComparison.Ordinal);
        var token = put[(put.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

        var get = await ExchangeAsync(client, $"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", get, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\ni-0123456789abcdef0", get, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_v1_get_is_refused_with_401_when_tokens_are_required()
    {
        using var client = await ConnectAsync();
        Assert.StartsWith("HTTP/1.1 401 ", await ExchangeAsync(client, "GET /latest/meta-data/ HTTP/1.0\r\n\r\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /latest/meta-data/\r\n\r\n", "400")]
    [InlineData("GET latest HTTP/1.1\r\n\r\n", "400")]
    [InlineData("GET /latest/ HTTP/2.0\r\n\r\n", "505")]
    [InlineData("GET /latest/ HTTP/1.1\r\n folded: header\r\n\r\n", "400")]
    [InlineData("GET /latest/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "400")]
    [InlineData("GET /latest/ HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", "400")]
    [InlineData("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 1\r\nX-aws-ec2-metadata-token-ttl-seconds: 2\r\n\r\n", "400")]
    [InlineData("\u0001\u0002garbage\u00ff\r\n\r\n", "400")]
    public async Task Malformed_requests_get_their_status_and_a_closed_connection(string request, string status)
    {
        using var client = await ConnectAsync();
        var response = await ExchangeAsync(client, request);

        Assert.StartsWith($"HTTP/1.1 {status} ", response, StringComparison.Ordinal);
        Assert.Contains("Connection: close\r\n", response, StringComparison.Ordinal);
        Assert.Equal(0, await client.GetStream().ReadAsync(new byte[1]).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task Headers_over_the_limit_get_431()
    {
        using var client = await ConnectAsync();
        var huge = "GET /latest/ HTTP/1.1\r\nX-Pad: " + new string('a', ImdsRequestReader.MaxHeaderBytes) + "\r\n\r\n";

        Assert.StartsWith("HTTP/1.1 431 ", await ExchangeAsync(client, huge), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_headers_get_431()
    {
        using var client = await ConnectAsync();
        var many = "GET /latest/ HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, ImdsRequestReader.MaxHeaders + 1).Select(i => $"X-{i}: v\r\n")) + "\r\n";

        Assert.StartsWith("HTTP/1.1 431 ", await ExchangeAsync(client, many), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_over_the_limit_are_closed_and_the_server_recovers()
    {
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < ImdsServer.MaxConnections; i++)
            {
                idle.Add(await ConnectAsync());
                // Each must be taken before the next, so the 33rd is the one over the limit.
                await ExchangeAsync(idle[^1], "GET / HTTP/1.1\r\n\r\n");
            }

            using var extra = await ConnectAsync();
            await extra.GetStream().WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
            var read = await ReadOrResetAsync(extra);
            Assert.Equal(0, read);
        }
        finally
        {
            idle.ForEach(client => client.Dispose());
        }

        using var after = await ConnectAsync();
        Assert.StartsWith("HTTP/1.1 401 ", await ExchangeAsync(after, "GET / HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(server.EndPoint).WaitAsync(Bound);
        return client;
    }

    private static async Task<int> ReadOrResetAsync(TcpClient client)
    {
        try
        {
            return await client.GetStream().ReadAsync(new byte[1]).AsTask().WaitAsync(Bound);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Sends <paramref name="request"/> and reads one response: the head, then Content-Length bytes.</summary>
    private static async Task<string> ExchangeAsync(TcpClient client, string request)
    {
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request)).AsTask().WaitAsync(Bound);
        var received = new List<byte>();
        var one = new byte[1];
        while (!Encoding.ASCII.GetString(received.ToArray()).EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one).AsTask().WaitAsync(Bound) == 0)
            {
                throw new IOException("The server closed the connection before a whole response head.");
            }

            received.Add(one[0]);
        }

        var head = Encoding.ASCII.GetString(received.ToArray());
        var length = int.Parse(head.Split("\r\n").Single(line => line.StartsWith("Content-Length: ", StringComparison.Ordinal))["Content-Length: ".Length..]);
        var body = new byte[length];
        await stream.ReadExactlyAsync(body).AsTask().WaitAsync(Bound);
        return head + Encoding.UTF8.GetString(body);
    }
}
