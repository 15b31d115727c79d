using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace VmPs.ImageBench;

/// <summary>Pushes a one-layer OCI image (a gzip tar of a directory) with the distribution API's monolithic uploads.</summary>
internal static class ImagePusher
{
    private const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

    public static async Task PushAsync(Uri registry, string repository, string tag, string layerPath, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = registry, Timeout = TimeSpan.FromMinutes(10) };
        var layerDigest = await DigestOfFileAsync(layerPath, cancellationToken);
        var diffId = await DigestOfUncompressedAsync(layerPath, cancellationToken);
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new { Env = new[] { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, Cmd = new[] { "/bin/bash" } },
            rootfs = new { type = "layers", diff_ids = new[] { diffId } },
        });
        var configDigest = Digest(config);

        await using (var layer = File.OpenRead(layerPath))
        {
            await UploadAsync(client, repository, layerDigest, new StreamContent(layer), cancellationToken);
        }

        await UploadAsync(client, repository, configDigest, new ByteArrayContent(config), cancellationToken);
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = ManifestMediaType,
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = new FileInfo(layerPath).Length } },
        });
        using var manifestContent = new ByteArrayContent(manifest);
        manifestContent.Headers.ContentType = new MediaTypeHeaderValue(ManifestMediaType);
        using var put = await client.PutAsync($"v2/{repository}/manifests/{tag}", manifestContent, cancellationToken);
        put.EnsureSuccessStatusCode();
    }

    private static async Task UploadAsync(HttpClient client, string repository, string digest, HttpContent content, CancellationToken cancellationToken)
    {
        using var started = await client.PostAsync($"v2/{repository}/blobs/uploads/", null, cancellationToken);
        started.EnsureSuccessStatusCode();
        var location = started.Headers.Location!;
        var upload = location.IsAbsoluteUri ? location : new Uri(client.BaseAddress!, location);
        var separator = upload.Query.Length > 0 ? "&" : "?";
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var finished = await client.PutAsync($"{upload}{separator}digest={Uri.EscapeDataString(digest)}", content, cancellationToken);
        finished.EnsureSuccessStatusCode();
    }

    private static async Task<string> DigestOfFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return $"sha256:{Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken))}";
    }

    private static async Task<string> DigestOfUncompressedAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        return $"sha256:{Convert.ToHexStringLower(await SHA256.HashDataAsync(gzip, cancellationToken))}";
    }

    private static string Digest(byte[] bytes) => $"sha256:{Convert.ToHexStringLower(SHA256.HashData(bytes))}";
}
