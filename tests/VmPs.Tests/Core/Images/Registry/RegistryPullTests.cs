using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using VmPs.Core;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Registry;

public sealed class RegistryPullTests(OpenRegistry registry) : IClassFixture<OpenRegistry>, IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly ConcurrentQueue<RecordedRequest> requests = new();

    private BlobCache Cache => new(new VmPsPaths(scratch.Path));

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("docker-registry")]
    public async Task Pulls_an_oci_image_into_the_cache_verified()
    {
        var config = new OciImageConfig { Entrypoint = ["/bin/sh"], Cmd = ["-c", "echo hi"], Env = ["A=1"], ExposedPorts = ["80/tcp"] };
        var image = await registry.PushImageAsync("team/oci", "v1", [TestImage.LayerTar(("bin/a", "one")), TestImage.LayerTar(("bin/b", "two"))], config);
        var progress = new List<ImagePullProgress>();

        var fetched = await Source(registry.Reference("team/oci", "v1")).FetchAsync(Cache, new SynchronousProgress<ImagePullProgress>(progress), CancellationToken.None);

        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Equal(image.Config.Descriptor, fetched.Config);
        Assert.Equal(image.Layers.Select(layer => layer.Descriptor), fetched.Layers);
        Assert.Equal(OciPlatform.Default, fetched.Platform);
        foreach (var blob in image.Layers.Append(image.Config))
        {
            Assert.Equal(blob.Content, await File.ReadAllBytesAsync(Cache.PathFor(blob.Descriptor.Digest)));
        }

        var parsed = OciImageConfig.Parse(await File.ReadAllBytesAsync(Cache.PathFor(fetched.Config.Digest)));
        Assert.Equal(["/bin/sh"], parsed.Entrypoint);
        Assert.Equal(["80/tcp"], parsed.ExposedPorts);
        var last = progress[^1];
        Assert.Equal((last.BytesTotal, 2, 2), (last.BytesDone, last.LayersDone, last.LayersTotal));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task Pulls_a_docker_v2_schema_2_image_by_digest()
    {
        var image = await registry.PushImageAsync("team/docker", "v1", [TestImage.LayerTar(("etc/os-release", "ID=test"))], format: TestManifestFormat.Docker);

        var fetched = await Source(registry.Reference("team/docker", image.Digest)).FetchAsync(Cache, null, CancellationToken.None);

        Assert.Equal(image.Digest, fetched.ManifestDigest);
        Assert.Equal(OciMediaTypes.DockerLayerGzip, Assert.Single(fetched.Layers).MediaType);
        Assert.True(Cache.Contains(fetched.Layers[0].Digest));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task Selects_the_platform_from_an_index()
    {
        var amd64 = TestImage.Build([TestImage.LayerTar(("arch", "amd64"))], new OciImageConfig { Architecture = "amd64" });
        var arm64 = TestImage.Build([TestImage.LayerTar(("arch", "arm64"))], new OciImageConfig { Architecture = "arm64", Variant = "v8" });
        await registry.PushIndexAsync("team/multi", "v1", [(new OciPlatform("linux", "arm64", "v8"), arm64), (OciPlatform.Default, amd64)]);

        var byDefault = await Source(registry.Reference("team/multi", "v1")).FetchAsync(Cache, null, CancellationToken.None);
        var arm = await Source(registry.Reference("team/multi", "v1"), OciPlatform.Parse("linux/arm64")).FetchAsync(Cache, null, CancellationToken.None);

        Assert.Equal((amd64.Digest, OciPlatform.Default), (byDefault.ManifestDigest, byDefault.Platform));
        Assert.Equal((arm64.Digest, new OciPlatform("linux", "arm64", "v8")), (arm.ManifestDigest, arm.Platform));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task A_missing_platform_names_the_available_ones()
    {
        var arm64 = TestImage.Build([TestImage.LayerTar(("arch", "arm64"))], new OciImageConfig { Architecture = "arm64" });
        var s390x = TestImage.Build([TestImage.LayerTar(("arch", "s390x"))], new OciImageConfig { Architecture = "s390x" });
        await registry.PushIndexAsync("team/noamd", "v1", [(new OciPlatform("linux", "arm64", "v8"), arm64), (new OciPlatform("linux", "s390x"), s390x)], TestManifestFormat.Docker);

        var error = await Assert.ThrowsAsync<VmPsException>(() => Source(registry.Reference("team/noamd", "v1")).FetchAsync(Cache, null, CancellationToken.None));

        Assert.Equal("PlatformNotFound", error.ErrorId);
        Assert.Contains("linux/amd64", error.Message);
        Assert.Contains("linux/arm64/v8, linux/s390x", error.Message);
        Assert.Empty(Directory.EnumerateFiles(scratch.Path, "*", SearchOption.AllDirectories));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task Unknown_tags_and_unreachable_registries_are_specific_errors()
    {
        var missing = await Assert.ThrowsAsync<VmPsException>(() => Source(registry.Reference("team/none", "v1")).FetchAsync(Cache, null, CancellationToken.None));
        var closedPort = RegistryFixture.FreePort();
        var unreachable = await Assert.ThrowsAsync<VmPsException>(() => Source(ImageReference.Parse($"127.0.0.1:{closedPort}/a:b")).FetchAsync(Cache, null, CancellationToken.None));

        Assert.Equal("ManifestNotFound", missing.ErrorId);
        Assert.Equal("RegistryUnreachable", unreachable.ErrorId);
    }

    [RequiresProgramFact("docker-registry")]
    public async Task A_second_pull_downloads_no_blob()
    {
        var image = await registry.PushImageAsync("team/cached", "v1", [TestImage.LayerTar(("a", "1")), TestImage.LayerTar(("b", "2"))]);
        await Source(registry.Reference("team/cached", "v1")).FetchAsync(Cache, null, CancellationToken.None);
        var firstPullBlobs = requests.Count(request => request.IsBlobGet);
        requests.Clear();

        var again = await Source(registry.Reference("team/cached", "v1")).FetchAsync(Cache, null, CancellationToken.None);

        Assert.Equal(3, firstPullBlobs);
        Assert.Equal(image.Digest, again.ManifestDigest);
        Assert.DoesNotContain(requests, request => request.IsBlobGet);
        Assert.Single(requests, request => request.Uri.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task An_interrupted_download_resumes_with_a_range_request()
    {
        var big = RandomNumberGenerator.GetBytes(3 << 20);
        var image = await registry.PushImageAsync("team/resume", "v1", [TestImage.LayerTar(("big.bin", big))], gzip: false);
        var layer = image.Layers[0].Descriptor;
        using var interrupt = new CancellationTokenSource();
        var interrupted = new RegistryImageSource(
            registry.Reference("team/resume", "v1"), null, OciPlatform.Default, insecure: false, NoDockerConfig(), () => new RecordingHandler(requests, 1 << 20, interrupt));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => interrupted.FetchAsync(Cache, null, interrupt.Token));
        var partialLength = new FileInfo(Cache.PathFor(layer.Digest) + ".partial").Length;
        requests.Clear();
        var fetched = await Source(registry.Reference("team/resume", "v1")).FetchAsync(Cache, null, CancellationToken.None);

        Assert.InRange(partialLength, 1, layer.Size - 1);
        var resumed = Assert.Single(requests, request => request.IsBlobGet && request.Uri.AbsolutePath.EndsWith(layer.Digest, StringComparison.Ordinal));
        Assert.Equal((partialLength, HttpStatusCode.PartialContent), (resumed.RangeFrom, resumed.Status));
        Assert.Equal(image.Layers[0].Content, await File.ReadAllBytesAsync(Cache.PathFor(fetched.Layers[0].Digest)));
        Assert.False(File.Exists(Cache.PathFor(layer.Digest) + ".partial"));
    }

    [RequiresProgramFact("docker-registry")]
    public async Task A_blob_that_does_not_match_its_digest_is_rejected_and_not_kept()
    {
        var image = await registry.PushImageAsync("team/corrupt", "v1", [TestImage.LayerTar(("good", "content")), TestImage.LayerTar(("bad", "content"))]);
        var corrupted = image.Layers[1].Descriptor.Digest;
        registry.CorruptBlob(corrupted);

        var error = await Assert.ThrowsAsync<VmPsException>(() => Source(registry.Reference("team/corrupt", "v1")).FetchAsync(Cache, null, CancellationToken.None));

        Assert.Equal("BlobDigestMismatch", error.ErrorId);
        Assert.Contains(corrupted, error.Message);
        Assert.False(Cache.Contains(corrupted));
        Assert.DoesNotContain(Directory.EnumerateFiles(scratch.Path, "*", SearchOption.AllDirectories), path => path.Contains(BlobDigest.Hex(corrupted), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, "https://registry.invalid/v2/team/app/manifests/v1")]
    [InlineData(true, "http://registry.invalid/v2/team/app/manifests/v1")]
    public async Task Remote_registries_are_reached_over_https_unless_insecure(bool insecure, string expectedUri)
    {
        var source = new RegistryImageSource(
            ImageReference.Parse("registry.invalid/team/app:v1"), null, OciPlatform.Default, insecure, NoDockerConfig(), () => new RecordingHandler(requests));

        var error = await Assert.ThrowsAsync<VmPsException>(() => source.FetchAsync(Cache, null, CancellationToken.None));

        Assert.Equal("RegistryUnreachable", error.ErrorId);
        Assert.Equal(expectedUri, Assert.Single(requests).Uri.ToString());
    }

    [Fact]
    public async Task A_remote_registry_sending_credentials_to_a_plain_http_token_service_is_refused()
    {
        // No real remote registry can run here; this handler answers like one whose token realm is plain HTTP.
        var source = new RegistryImageSource(
            ImageReference.Parse("registry.invalid/team/app:v1"),
            RegistryFixture.Credentials,
            OciPlatform.Default,
            insecure: false,
            NoDockerConfig(),
            () => new PlainHttpRealmHandler());

        var error = await Assert.ThrowsAsync<VmPsException>(() => source.FetchAsync(Cache, null, CancellationToken.None));

        Assert.Equal(("InsecureRegistryRefused", VmPsErrorKind.PermissionDenied), (error.ErrorId, error.Kind));
    }

    private RegistryImageSource Source(ImageReference reference, OciPlatform? platform = null) =>
        new(reference, null, platform ?? OciPlatform.Default, insecure: false, NoDockerConfig(), () => new RecordingHandler(requests));

    private DockerConfigCredentials NoDockerConfig() => new(scratch.Combine("no-docker-config.json"));

    private sealed class PlainHttpRealmHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("https", request.RequestUri!.Scheme);
            var response = new HttpResponseMessage(HttpStatusCode.Unauthorized);
            response.Headers.WwwAuthenticate.ParseAdd("Bearer realm=\"http://auth.invalid/token\",service=\"registry.invalid\"");
            return Task.FromResult(response);
        }
    }
}
