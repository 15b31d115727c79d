using System.Globalization;
using System.Text;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

internal sealed record FakeHttpRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, string? Body)
{
    public bool KeepAlive => !Headers.TryGetValue("connection", out var value) || !value.Equals("close", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A response as CH's micro_http sends it: 204 without a body, otherwise JSON.</summary>
internal sealed record FakeHttpResponse(int StatusCode, string? Json = null)
{
    public static readonly FakeHttpResponse NoContent = new(204);
}

/// <summary>Just enough HTTP/1.1 for the fake: Content-Length bodies and keep-alive, no chunking.</summary>
internal static class FakeCloudHypervisorHttp
{
    private const int MaxHeaderBytes = 16 * 1024;

    /// <summary>Reads one request; null when the client closed the connection between requests.</summary>
    public static async Task<FakeHttpRequest?> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = await ReadHeadAsync(stream, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return null;
        }

        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || !requestLine[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Not an HTTP/1.x request line: '{lines[0]}'.");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1).Where(line => line.Length > 0))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        string? body = null;
        if (headers.TryGetValue("content-length", out var lengthText) && int.Parse(lengthText, CultureInfo.InvariantCulture) is > 0 and var length)
        {
            var bytes = new byte[length];
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            body = Encoding.UTF8.GetString(bytes);
        }

        return new FakeHttpRequest(requestLine[0], requestLine[1], headers, body);
    }

    public static async Task WriteResponseAsync(Stream stream, FakeHttpResponse response, CancellationToken cancellationToken)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.StatusCode} {ReasonPhrase(response.StatusCode)}\r\n")
            .Append("Server: Cloud Hypervisor API\r\n")
            .Append("Connection: keep-alive\r\n");
        var body = response.Json is null ? [] : Encoding.UTF8.GetBytes(response.Json);
        if (response.StatusCode != 204)
        {
            text.Append("Content-Type: application/json\r\n")
                .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        }

        text.Append("\r\n");
        byte[] message = [.. Encoding.ASCII.GetBytes(text.ToString()), .. body];
        await stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string?> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        var buffer = new byte[1];
        while (!EndsWithBlankLine(head))
        {
            if (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) == 0)
            {
                return head.Count == 0 ? null : throw new EndOfStreamException("The request ended inside its headers.");
            }

            head.Add(buffer[0]);
            if (head.Count > MaxHeaderBytes)
            {
                throw new InvalidDataException("Request headers are too long.");
            }
        }

        return Encoding.ASCII.GetString(head.ToArray(), 0, head.Count - 4);
    }

    private static bool EndsWithBlankLine(List<byte> head) =>
        head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n';

    private static string ReasonPhrase(int statusCode) => statusCode switch
    {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
}
