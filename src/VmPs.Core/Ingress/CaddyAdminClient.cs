using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Processes;

namespace VmPs.Core.Ingress;

/// <summary>Caddy's admin API over its unix socket (never TCP): loads a whole configuration at once.</summary>
internal sealed class CaddyAdminClient : IDisposable
{
    private readonly UnixSocketHttpClient http;

    public CaddyAdminClient(string socketPath) => http = new UnixSocketHttpClient(socketPath, CaddyConfig.AdminOrigin);

    /// <summary>Whether Caddy answers on the socket.</summary>
    public Task<bool> PingAsync(CancellationToken cancellationToken) => http.IsOkAsync("config/", cancellationToken);

    /// <summary>Replaces Caddy's configuration (gracefully: open connections finish); null on success, else Caddy's error.</summary>
    public async Task<string?> LoadAsync(JsonObject config, CancellationToken cancellationToken)
    {
        using var content = new StringContent(config.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.Client.PostAsync("load", content, cancellationToken).ConfigureAwait(false);
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

    public void Dispose() => http.Dispose();
}
