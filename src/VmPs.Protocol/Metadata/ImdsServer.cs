using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VmPs.Protocol.Metadata;

/// <summary>
/// Serves an <see cref="ImdsService"/> over HTTP/1.1 on one address. Guest processes are hostile clients: at most
/// <see cref="MaxConnections"/> connections at once (more are closed at once), each request must arrive within
/// <see cref="RequestTimeout"/>, and no failure of one connection reaches the accept loop or the process.
/// </summary>
public sealed class ImdsServer : IDisposable
{
    public const int MaxConnections = 32;
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket listener;
    private readonly ImdsService service;
    private readonly SemaphoreSlim slots = new(MaxConnections, MaxConnections);
    private readonly CancellationTokenSource stopping = new();

    public ImdsServer(IPEndPoint endPoint, ImdsService service)
        : this(Listen(endPoint), service)
    {
    }

    /// <summary>Serves on a socket already listening (e.g. one created in another network namespace); takes it over.</summary>
    public ImdsServer(Socket listener, ImdsService service)
    {
        ArgumentNullException.ThrowIfNull(listener);
        this.listener = listener;
        this.service = service;
    }

    private static Socket Listen(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endPoint);
            listener.Listen(MaxConnections);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public IPEndPoint EndPoint => (IPEndPoint)listener.LocalEndPoint!;

    /// <summary>Accepts until disposed; never throws (errors go to <paramref name="log"/>).</summary>
    public async Task RunAsync(Action<string> log)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException error)
            {
                log($"accept failed: {error.Message}");
                continue;
            }

            if (!slots.Wait(0))
            {
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client, log);
        }
    }

    private async Task ServeAsync(Socket client, Action<string> log)
    {
        try
        {
            using var stream = new NetworkStream(client, ownsSocket: true);
            var reader = new ImdsRequestReader(stream);
            while (true)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                timeout.CancelAfter(RequestTimeout);
                ImdsRequest? request;
                try
                {
                    request = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (ImdsRequestException refused)
                {
                    await WriteAsync(stream, ImdsResponse.Error(refused.Status), keepAlive: false, timeout.Token).ConfigureAwait(false);
                    return;
                }

                if (request is null)
                {
                    return;
                }

                await WriteAsync(stream, service.Handle(request), request.KeepAlive, timeout.Token).ConfigureAwait(false);
                if (!request.KeepAlive)
                {
                    return;
                }
            }
        }
        catch (Exception error) when (error is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or was too slow: its connection ends, nothing else does.
        }
        catch (Exception error)
        {
            log($"a connection failed: {error}");
        }
        finally
        {
            slots.Release();
        }
    }

    private static async Task WriteAsync(Stream stream, ImdsResponse response, bool keepAlive, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(response.Body);
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {ImdsResponse.ReasonPhrase(response.Status)}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Type: {response.ContentType}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")
            .Append("Server: VmPs\r\n");
        if (response.TokenTtlSeconds is { } ttl)
        {
            head.Append(CultureInfo.InvariantCulture, $"X-Aws-Ec2-Metadata-Token-Ttl-Seconds: {ttl}\r\n");
        }

        head.Append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        stopping.Cancel();
        listener.Dispose();
        stopping.Dispose();
    }
}
