using System.Net;
using System.Net.Http.Headers;

namespace VmPs.Tests.Infrastructure;

/// <summary>
/// Pushes test images with the distribution API's push side: blobs by monolithic upload (POST uploads, then
/// PUT ?digest=), manifests by PUT. <c>authorize</c> gives the Authorization header for a repository.
/// </summary>
public sealed class TestImagePusher : IDisposable
{
    private readonly HttpClient http = new();
    private readonly string baseUri;
    private readonly Func<string, AuthenticationHeaderValue?> authorize;

    public TestImagePusher(string host, Func<string, AuthenticationHeaderValue?> authorize)
    {
        baseUri = $"http://{host}/v2/";
        this.authorize = authorize;
    }

    public async Task PushImageAsync(string repository, string? tag, TestImage image)
    {
        foreach (var blob in image.Layers.Prepend(image.Config))
        {
            await PushBlobAsync(repository, blob);
        }

        await PushManifestAsync(repository, tag ?? image.Digest, image.Manifest);
    }

    public async Task PushBlobAsync(string repository, TestBlob blob)
    {
        using (var head = await SendAsync(repository, new HttpRequestMessage(HttpMethod.Head, $"{baseUri}{repository}/blobs/{blob.Descriptor.Digest}")))
        {
            if (head.StatusCode == HttpStatusCode.OK)
            {
                return;
            }
        }

        using var start = await SendAsync(repository, new HttpRequestMessage(HttpMethod.Post, $"{baseUri}{repository}/blobs/uploads/"));
        await EnsureAsync(start, HttpStatusCode.Accepted, "starting a blob upload");
        var location = new Uri(new Uri(baseUri), start.Headers.Location!);
        var separator = location.Query.Length > 0 ? "&" : "?";
        var put = new HttpRequestMessage(HttpMethod.Put, $"{location}{separator}digest={Uri.EscapeDataString(blob.Descriptor.Digest)}")
        {
            Content = new ByteArrayContent(blob.Content),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await SendAsync(repository, put);
        await EnsureAsync(done, HttpStatusCode.Created, $"uploading blob {blob.Descriptor.Digest}");
    }

    public async Task PushManifestAsync(string repository, string reference, TestBlob manifest)
    {
        var put = new HttpRequestMessage(HttpMethod.Put, $"{baseUri}{repository}/manifests/{reference}") { Content = new ByteArrayContent(manifest.Content) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(manifest.Descriptor.MediaType);
        using var response = await SendAsync(repository, put);
        await EnsureAsync(response, HttpStatusCode.Created, $"putting manifest {reference}");
    }

    public void Dispose() => http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(string repository, HttpRequestMessage request)
    {
        using (request)
        {
            request.Headers.Authorization = authorize(repository);
            return await http.SendAsync(request);
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"Registry answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()} when {what}.");
        }
    }
}
