namespace VmPs.Protocol.Metadata;

/// <summary>One answer: the status, the body (text, or JSON for the identity document) and the token's remaining TTL if any.</summary>
public sealed record ImdsResponse(int Status, string Body, string ContentType = "text/plain", int? TokenTtlSeconds = null)
{
    public static ImdsResponse Error(int status) => new(status, ReasonPhrase(status) + "\n");

    public static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
}
