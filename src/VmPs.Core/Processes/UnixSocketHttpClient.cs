namespace VmPs.Core.Processes;

/// <summary>HTTP to a host program's unix socket (Caddy's admin API, the ingress's token checker), never over TCP.</summary>
internal sealed class UnixSocketHttpClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <param name="authority">The Host header the program is called with (Caddy's admin API accepts only its configured origin).</param>
    public UnixSocketHttpClient(string socketPath, string authority)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => UnixSocketStreams.ConnectAsync(socketPath, cancellationToken),
        };
        Client = new HttpClient(handler) { BaseAddress = new Uri($"http://{authority}/"), Timeout = RequestTimeout };
    }

    public HttpClient Client { get; }

    /// <summary>Whether the program answers GET <paramref name="path"/> with a 2xx status (false when nothing listens).</summary>
    public async Task<bool> IsOkAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Client.GetAsync(path, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public void Dispose() => Client.Dispose();
}
