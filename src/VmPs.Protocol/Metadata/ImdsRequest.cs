namespace VmPs.Protocol.Metadata;

/// <summary>One parsed HTTP/1.1 request: the method, the path (no query) and the headers IMDS reads.</summary>
public sealed record ImdsRequest(string Method, string Path, string? Token, string? TokenTtl, bool Forwarded, bool KeepAlive);
