using System.Text;

namespace VmPs.Protocol.Metadata;

/// <summary>
/// Reads HTTP/1.1 requests off one connection for <see cref="ImdsServer"/>. Written here rather than taken from a
/// library: the guest is a NativeAOT static binary (Kestrel and HttpListener are not available there or weigh megabytes
/// in every VM's initrd), and IMDS needs only GET and PUT without bodies, so a small parser whose every limit is
/// visible is the safer part to expose to whatever runs in the VM. Everything is bounded: the request line and
/// headers together, the number of headers, each field, the (discarded) body.
/// </summary>
public sealed class ImdsRequestReader(Stream stream)
{
    /// <summary>The request line and every header, as nginx's default large header buffer.</summary>
    public const int MaxHeaderBytes = 8192;
    public const int MaxHeaders = 64;
    public const int MaxPathLength = 1024;

    /// <summary>A PUT may carry a body (curl sends none); up to this much is read and dropped.</summary>
    public const int MaxBodyBytes = 4096;

    private const string TokenHeader = "x-aws-ec2-metadata-token";
    private const string TokenTtlHeader = "x-aws-ec2-metadata-token-ttl-seconds";

    private readonly byte[] buffer = new byte[MaxHeaderBytes];
    private int start;
    private int end;

    /// <summary>
    /// The next request; null when the peer closed the connection between requests. A malformed or oversized request
    /// throws <see cref="ImdsRequestException"/> with the status to answer before closing.
    /// </summary>
    public async Task<ImdsRequest?> ReadAsync(CancellationToken cancellationToken)
    {
        var headerEnd = await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        if (headerEnd < 0)
        {
            return null;
        }

        var head = Encoding.ASCII.GetString(buffer, start, headerEnd - start);
        start = headerEnd;
        var request = Parse(head, out var bodyLength);
        await SkipAsync(bodyLength, cancellationToken).ConfigureAwait(false);
        return request;
    }

    /// <summary>Reads until the blank line ending the headers; returns the index just past it, or -1 at a clean end of stream.</summary>
    private async Task<int> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var scanned = start;
        while (true)
        {
            var found = buffer.AsSpan(scanned, end - scanned).IndexOf("\r\n\r\n"u8);
            if (found >= 0)
            {
                return scanned + found + 4;
            }

            scanned = Math.Max(start, end - 3);
            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                scanned -= start;
                end -= start;
                start = 0;
            }

            if (end == buffer.Length)
            {
                throw new ImdsRequestException(431, $"The request line and headers are over {MaxHeaderBytes} bytes.");
            }

            var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return end == start ? -1 : throw new ImdsRequestException(400, "The connection closed inside a request.");
            }

            end += read;
        }
    }

    private static ImdsRequest Parse(string head, out int bodyLength)
    {
        var lines = head[..^4].Split("\r\n");
        if (lines.Length - 1 > MaxHeaders)
        {
            throw new ImdsRequestException(431, $"The request has more than {MaxHeaders} headers.");
        }

        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0].Length is 0 or > 16 || !parts[0].All(char.IsAsciiLetterUpper))
        {
            throw new ImdsRequestException(400, "The request line is not METHOD SP PATH SP VERSION.");
        }

        if (parts[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            throw new ImdsRequestException(505, "Only HTTP/1.0 and HTTP/1.1 are served.");
        }

        var target = parts[1];
        if (target.Length is 0 or > MaxPathLength || target[0] != '/' || target.Any(c => c <= ' ' || c > '~'))
        {
            throw new ImdsRequestException(400, $"The request target must be an absolute path of at most {MaxPathLength} printable characters.");
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAnyExcept(HeaderNameCharacters) || line.AsSpan(colon + 1).ContainsAny(ControlCharacters))
            {
                throw new ImdsRequestException(400, "A header is not NAME: VALUE in printable ASCII.");
            }

            var name = line[..colon].ToLowerInvariant();
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (!headers.TryAdd(name, value) && name is TokenHeader or TokenTtlHeader or "content-length")
            {
                throw new ImdsRequestException(400, $"The header {name} is repeated.");
            }
        }

        if (headers.ContainsKey("transfer-encoding"))
        {
            throw new ImdsRequestException(400, "Request bodies with a Transfer-Encoding are not accepted.");
        }

        bodyLength = 0;
        if (headers.TryGetValue("content-length", out var length)
            && (length.Length is 0 or > 5 || !length.All(char.IsAsciiDigit) || (bodyLength = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)) > MaxBodyBytes))
        {
            throw new ImdsRequestException(400, $"The Content-Length must be a number of at most {MaxBodyBytes}.");
        }

        var connection = headers.GetValueOrDefault("connection")?.ToLowerInvariant();
        var keepAlive = parts[2] == "HTTP/1.1" ? connection != "close" : connection == "keep-alive";
        var query = target.IndexOf('?');
        return new ImdsRequest(
            parts[0],
            query < 0 ? target : target[..query],
            headers.GetValueOrDefault(TokenHeader),
            headers.GetValueOrDefault(TokenTtlHeader),
            headers.ContainsKey("x-forwarded-for"),
            keepAlive);
    }

    private async Task SkipAsync(int count, CancellationToken cancellationToken)
    {
        var buffered = Math.Min(count, end - start);
        start += buffered;
        count -= buffered;
        var scratch = count > 0 ? new byte[count] : [];
        await stream.ReadExactlyAsync(scratch, cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Buffers.SearchValues<char> HeaderNameCharacters =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static readonly System.Buffers.SearchValues<char> ControlCharacters =
        System.Buffers.SearchValues.Create("\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\n\u000b\u000c\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");
}

/// <summary>A request IMDS refuses before routing it: the HTTP status to answer, then the connection closes.</summary>
public sealed class ImdsRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
