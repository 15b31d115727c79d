using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Protocol.Streams;

namespace VmPs.Core.Images.Registry;

/// <summary>A manifest as the registry served it, with the digest of its exact bytes.</summary>
internal sealed record RegistryManifest(OciManifestDocument Document, string Digest, byte[] Content);

/// <summary>
/// The OCI distribution API v2 (pull side) for one repository: manifests and blobs over HttpClient, with
/// anonymous, bearer-token (WWW-Authenticate challenge) and basic auth. Plain HTTP only for loopback
/// registries or when the caller asked for an insecure registry.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private readonly HttpClient http;
    private readonly ImageReference reference;
    private readonly Uri baseUri;
    private readonly bool plainHttpAllowed;
    private readonly RegistryCredentials? explicitCredentials;
    private readonly DockerConfigCredentials dockerConfig;
    private AuthenticationHeaderValue? authorization;

    public RegistryClient(
        ImageReference reference,
        RegistryCredentials? credentials,
        DockerConfigCredentials dockerConfig,
        bool insecure,
        HttpMessageHandler? handler = null)
    {
        this.reference = reference;
        explicitCredentials = credentials;
        this.dockerConfig = dockerConfig;
        plainHttpAllowed = insecure || IsLoopback(reference.Registry);
        var host = reference.Registry == ImageReference.DockerHub ? "registry-1.docker.io" : reference.Registry;
        baseUri = new Uri($"{(plainHttpAllowed ? "http" : "https")}://{host}/v2/");
        http = new HttpClient(handler ?? new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true)
        {
            // Layer downloads take as long as they take; the caller's token bounds them.
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public static bool IsLoopback(string registry)
    {
        var host = registry;
        if (host.StartsWith('['))
        {
            host = host[1..host.IndexOf(']')];
        }
        else if (host.LastIndexOf(':') is var colon and > 0)
        {
            host = host[..colon];
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>Fetches a manifest or index by tag or digest; a digest reference is checked against the bytes received.</summary>
    public async Task<RegistryManifest> GetManifestAsync(string tagOrDigest, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, $"{reference.Repository}/manifests/{tagOrDigest}");
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, uri);
                foreach (var mediaType in OciMediaTypes.Manifests)
                {
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
                }

                return request;
            },
            cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestNotFound,
                VmPsErrorKind.ObjectNotFound,
                $"{reference.Registry}/{reference.Repository} has no manifest '{tagOrDigest}'.",
                reference.ToString());
        }

        EnsureSuccess(response, $"the manifest '{tagOrDigest}'");
        var content = await ReadBoundedAsync(response, $"the manifest '{tagOrDigest}' of {reference}", cancellationToken).ConfigureAwait(false);
        var digest = BlobDigest.Compute(content);
        if (tagOrDigest.Contains(':') && digest != tagOrDigest)
        {
            throw new VmPsException(
                VmPsErrorIds.ManifestDigestMismatch,
                VmPsErrorKind.InvalidData,
                $"The registry returned a manifest with digest {digest} for {reference.Registry}/{reference.Repository}@{tagOrDigest}; it was rejected.",
                reference.ToString());
        }

        var document = OciManifestDocument.Parse(content, response.Content.Headers.ContentType?.MediaType, $"{reference.Registry}/{reference.Repository}@{digest}");
        return new RegistryManifest(document, digest, content);
    }

    /// <summary>Opens a blob's content from <paramref name="offset"/> (an HTTP Range request when resuming).</summary>
    public async Task<Stream> OpenBlobAsync(OciDescriptor blob, long offset, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, $"{reference.Repository}/blobs/{blob.Digest}");
        var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (offset > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(offset, null);
                }

                return request;
            },
            cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new VmPsException(VmPsErrorIds.BlobNotFound, VmPsErrorKind.ObjectNotFound, $"{reference.Registry}/{reference.Repository} has no blob {blob.Digest}.", blob.Digest);
            }

            EnsureSuccess(response, $"blob {blob.Digest}");
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            {
                // The server ignored the Range header: skip what is already on disk.
                await SkipAsync(stream, offset, cancellationToken).ConfigureAwait(false);
            }

            return new ResponseStream(stream, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public void Dispose() => http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(createRequest, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var challenge = RegistryAuthChallenge.From(response.Headers);
        response.Dispose();
        authorization = await AuthorizeAsync(challenge, cancellationToken).ConfigureAwait(false);
        response = await SendOnceAsync(createRequest, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            response.Dispose();
            throw Unauthorized($"{reference.Registry} refused access to {reference.Repository}: the repository does not exist or needs other credentials");
        }

        return response;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        using var request = createRequest();
        request.Headers.Authorization = authorization;
        return await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new VmPsException(
                VmPsErrorIds.RegistryUnreachable,
                VmPsErrorKind.ConnectionError,
                $"Cannot reach {request.RequestUri!.GetLeftPart(UriPartial.Authority)}: {ex.Message}",
                reference.Registry,
                ex)
            {
                RecommendedAction = plainHttpAllowed ? null : "If the registry serves plain HTTP, pass -Insecure.",
            };
        }
    }

    private async Task<AuthenticationHeaderValue> AuthorizeAsync(RegistryAuthChallenge? challenge, CancellationToken cancellationToken)
    {
        if (challenge?.IsBearer == true)
        {
            return new AuthenticationHeaderValue("Bearer", await FetchTokenAsync(challenge, cancellationToken).ConfigureAwait(false));
        }

        if (challenge?.IsBasic == true)
        {
            var credentials = await FindCredentialsAsync(cancellationToken).ConfigureAwait(false)
                ?? throw Unauthorized($"{reference.Registry} requires a user name and password");
            return BasicHeader(credentials);
        }

        throw Unauthorized($"{reference.Registry} answered 401 with an unsupported authentication challenge '{challenge?.Scheme}'");
    }

    private async Task<string> FetchTokenAsync(RegistryAuthChallenge challenge, CancellationToken cancellationToken)
    {
        if (challenge["realm"] is not { } realm || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw Unauthorized($"{reference.Registry} sent a bearer challenge without a valid realm");
        }

        if (realmUri.Scheme != Uri.UriSchemeHttps && !plainHttpAllowed && !IsLoopback(realmUri.Authority))
        {
            throw new VmPsException(
                VmPsErrorIds.InsecureRegistryRefused,
                VmPsErrorKind.PermissionDenied,
                $"{reference.Registry} sends clients to the plain-HTTP token service {realm}; refused without -Insecure.",
                reference.Registry);
        }

        var query = new StringBuilder();
        if (challenge["service"] is { } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        var scope = challenge["scope"] ?? $"repository:{reference.Repository}:pull";
        query.Append(query.Length > 0 ? "&" : string.Empty).Append("scope=").Append(Uri.EscapeDataString(scope));
        var builder = new UriBuilder(realmUri) { Query = realmUri.Query.Length > 1 ? realmUri.Query[1..] + "&" + query : query.ToString() };

        using var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        if (await FindCredentialsAsync(cancellationToken).ConfigureAwait(false) is { } credentials)
        {
            request.Headers.Authorization = BasicHeader(credentials);
        }

        using var response = await SendRawAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw Unauthorized($"the token service {realmUri.GetLeftPart(UriPartial.Path)} rejected the credentials for {reference.Registry}");
        }

        EnsureSuccess(response, "a bearer token");
        try
        {
            using var document = JsonDocument.Parse(await ReadBoundedAsync(response, $"the token service {realmUri.GetLeftPart(UriPartial.Path)}'s answer", cancellationToken).ConfigureAwait(false));
            var root = document.RootElement;
            var token = root.TryGetProperty("token", out var value) ? value.GetString()
                : root.TryGetProperty("access_token", out value) ? value.GetString()
                : null;
            return token is { Length: > 0 } ? token : throw Unauthorized($"the token service {realm} answered without a token");
        }
        catch (JsonException ex)
        {
            throw new VmPsException(VmPsErrorIds.RegistryProtocolError, VmPsErrorKind.ProtocolError, $"The token service {realm} answered with invalid JSON: {ex.Message}", reference.Registry, ex);
        }
    }

    /// <summary>
    /// A JSON body, at most <see cref="OciLimits.MaxDocumentBytes"/> whether or not the server sent a Content-Length
    /// (a chunked body is read only that far), so a hostile registry or token service cannot make pwsh buffer gigabytes.
    /// </summary>
    private async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > OciLimits.MaxDocumentBytes)
        {
            throw TooLarge(what);
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[Math.Min(response.Content.Headers.ContentLength ?? 64 * 1024, OciLimits.MaxDocumentBytes) + 1];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > OciLimits.MaxDocumentBytes)
                {
                    throw TooLarge(what);
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, OciLimits.MaxDocumentBytes + 1));
            }

            var read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer[..length];
            }

            length += read;
        }
    }

    private VmPsException TooLarge(string what) => new(
        VmPsErrorIds.RegistryResponseTooLarge,
        VmPsErrorKind.LimitsExceeded,
        $"{reference.Registry} sent more than {OciLimits.MaxDocumentBytes} bytes for {what}; it was refused.",
        reference.ToString());

    private async Task<RegistryCredentials?> FindCredentialsAsync(CancellationToken cancellationToken) =>
        explicitCredentials ?? await dockerConfig.FindAsync(reference.Registry, cancellationToken).ConfigureAwait(false);

    private static AuthenticationHeaderValue BasicHeader(RegistryCredentials credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}")));

    private void EnsureSuccess(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new VmPsException(
                VmPsErrorIds.RegistryRequestFailed,
                VmPsErrorKind.ProtocolError,
                $"{reference.Registry} answered {(int)response.StatusCode} {response.ReasonPhrase} for {what} of {reference.Repository}.",
                reference.ToString());
        }
    }

    private VmPsException Unauthorized(string reason) => new(
        VmPsErrorIds.RegistryUnauthorized,
        VmPsErrorKind.PermissionDenied,
        $"Cannot pull {reference}: {reason}.",
        reference.ToString())
    {
        RecommendedAction = "Pass -Credential, or log in with docker login so ~/.docker/config.json holds credentials.",
    };

    private static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return;
            }

            count -= read;
        }
    }

    /// <summary>The body of a response that disposes the response (and so returns its connection) with it.</summary>
    private sealed class ResponseStream(Stream inner, HttpResponseMessage response) : DelegatingStream(inner)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new VmPsException(
                    VmPsErrorIds.RegistryUnreachable,
                    VmPsErrorKind.ConnectionError,
                    $"The download from {response.RequestMessage?.RequestUri} was interrupted: {ex.Message}; pulling again resumes it.",
                    response.RequestMessage?.RequestUri?.ToString(),
                    ex);
            }
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                response.Dispose();
            }
        }
    }
}
