using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Processes;

namespace VmPs.Core.Ingress;

/// <summary>Caddy's admin API over its unix socket (never TCP): loads a whole configuration at once.</summary>
internal sealed class CaddyAdminClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient client;

    public CaddyAdminClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => UnixSocketStreams.ConnectAsync(socketPath, cancellationToken),
        };
        client = new HttpClient(handler) { BaseAddress = new Uri($"http://{CaddyConfig.AdminOrigin}/"), Timeout = RequestTimeout };
    }

    /// <summary>Whether Caddy answers on the socket.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.GetAsync("config/", cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Replaces Caddy's configuration (gracefully: open connections finish); null on success, else Caddy's error.</summary>
    public async Task<string?> LoadAsync(JsonObject config, CancellationToken cancellationToken)
    {
        using var content = new StringContent(config.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("load", content, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(body)?["error"]?.GetValue<string>() ?? body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    public void Dispose() => client.Dispose();
}
