using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Oci;

/// <summary>OCI image layout directories and docker save archives, written by the tests.</summary>
public sealed class LocalImageSourceTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly BlobCache cache;

    public LocalImageSourceTests()
    {
        cache = new BlobCache(new VmPsPaths(scratch.Combine("home")));
    }

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task An_oci_layout_image_is_selected_by_tag()
    {
        var one = TestImage.Build([TestImage.LayerTar(("one", "1"))]);
        var two = TestImage.Build([TestImage.LayerTar(("two", "2")), TestImage.LayerTar(("three", "3"))], gzip: false);
        var layout = WriteLayout([("v1", one.Manifest, one.Blobs()), ("v2", two.Manifest, two.Blobs())]);

        var fetched = await new OciLayoutImageSource(layout, "v2", OciPlatform.Default).FetchAsync(cache, null, CancellationToken.None);

        Assert.Equal(two.Digest, fetched.ManifestDigest);
        Assert.Equal(two.Layers.Select(layer => layer.Descriptor), fetched.Layers);
        Assert.All(two.Layers, layer => Assert.Equal(layer.Content, File.ReadAllBytes(cache.PathFor(layer.Descriptor.Digest))));
        Assert.False(cache.Contains(one.Layers[0].Descriptor.Digest));
    }

    [Fact]
    public async Task An_unknown_or_missing_tag_lists_the_tags_of_the_layout()
    {
        var one = TestImage.Build([TestImage.LayerTar(("one", "1"))]);
        var two = TestImage.Build([TestImage.LayerTar(("two", "2"))]);
        var layout = WriteLayout([("v1", one.Manifest, one.Blobs()), ("v2", two.Manifest, two.Blobs())]);

        var unknown = await Assert.ThrowsAsync<VmPsException>(() => new OciLayoutImageSource(layout, "v3", OciPlatform.Default).FetchAsync(cache, null, CancellationToken.None));
        var ambiguous = await Assert.ThrowsAsync<VmPsException>(() => new OciLayoutImageSource(layout, null, OciPlatform.Default).FetchAsync(cache, null, CancellationToken.None));
        var notLayout = await Assert.ThrowsAsync<VmPsException>(() => new OciLayoutImageSource(scratch.Path, null, OciPlatform.Default).FetchAsync(cache, null, CancellationToken.None));

        Assert.Equal("ImageTagNotFound", unknown.ErrorId);
        Assert.Contains("v1, v2", unknown.Message);
        Assert.Equal("ImageTagRequired", ambiguous.ErrorId);
        Assert.Equal("OciLayoutInvalid", notLayout.ErrorId);
    }

    [Fact]
    public async Task A_nested_index_in_a_layout_resolves_to_the_platform()
    {
        var amd64 = TestImage.Build([TestImage.LayerTar(("arch", "amd64"))]);
        var arm64 = TestImage.Build([TestImage.LayerTar(("arch", "arm64"))], new OciImageConfig { Architecture = "arm64" });
        var index = TestImage.Index([(new OciPlatform("linux", "arm64", "v8"), arm64), (OciPlatform.Default, amd64)]);
        var layout = WriteLayout([("multi", index, [amd64.Manifest, arm64.Manifest, .. amd64.Blobs(), .. arm64.Blobs()])]);

        var fetched = await new OciLayoutImageSource(layout, "multi", OciPlatform.Parse("linux/arm64")).FetchAsync(cache, null, CancellationToken.None);
        var missing = await Assert.ThrowsAsync<VmPsException>(() => new OciLayoutImageSource(layout, "multi", OciPlatform.Parse("linux/riscv64")).FetchAsync(cache, null, CancellationToken.None));

        Assert.Equal((arm64.Digest, "linux/arm64/v8"), (fetched.ManifestDigest, fetched.Platform.ToString()));
        Assert.Equal("PlatformNotFound", missing.ErrorId);
    }

    [Fact]
    public async Task A_tampered_layout_blob_is_rejected_and_not_cached()
    {
        var image = TestImage.Build([TestImage.LayerTar(("file", "original"))]);
        var layout = WriteLayout([("v1", image.Manifest, image.Blobs())]);
        var layer = image.Layers[0].Descriptor.Digest;
        var layerPath = Path.Combine(layout, "blobs", "sha256", BlobDigest.Hex(layer));
        var content = File.ReadAllBytes(layerPath);
        content[^1] ^= 1;
        File.WriteAllBytes(layerPath, content);

        var error = await Assert.ThrowsAsync<VmPsException>(() => new OciLayoutImageSource(layout, "v1", OciPlatform.Default).FetchAsync(cache, null, CancellationToken.None));

        Assert.Equal("BlobDigestMismatch", error.ErrorId);
        Assert.False(cache.Contains(layer));
        Assert.DoesNotContain(Directory.GetFiles(scratch.Combine("home"), "*", SearchOption.AllDirectories), path => path.Contains(BlobDigest.Hex(layer), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_docker_save_archive_is_imported_with_computed_digests()
    {
        var first = TestImage.LayerTar(("bin/tool", "#!/bin/sh\necho tool\n"));
        var second = TestImage.LayerTar(("etc/motd", "hello"));
        var config = new OciImageConfig { Entrypoint = ["/bin/tool"], Env = ["PATH=/bin"] };
        var archive = WriteDockerArchive("team/app:v1", TestImage.Build([first, second, first], config, gzip: false).Config.Content, [first, second]);

        var fetched = await new DockerArchiveImageSource(archive, "team/app:v1").FetchAsync(cache, null, CancellationToken.None);

        Assert.Equal([BlobDigest.Compute(first), BlobDigest.Compute(second), BlobDigest.Compute(first)], fetched.Layers.Select(layer => layer.Digest));
        Assert.All(fetched.Layers, layer => Assert.Equal(OciMediaTypes.DockerLayer, layer.MediaType));
        Assert.Equal(second, await File.ReadAllBytesAsync(cache.PathFor(fetched.Layers[1].Digest)));
        Assert.Equal(["/bin/tool"], OciImageConfig.Parse(await File.ReadAllBytesAsync(cache.PathFor(fetched.Config.Digest))).Entrypoint);
        Assert.Equal(OciPlatform.Default, fetched.Platform);
        Assert.True(BlobDigest.IsValid(fetched.ManifestDigest));
    }

    [Fact]
    public async Task A_docker_save_archive_without_the_tag_names_its_tags()
    {
        var layer = TestImage.LayerTar(("f", "x"));
        var archive = WriteDockerArchive("team/app:v1", TestImage.Build([layer, layer], gzip: false).Config.Content, [layer]);

        var error = await Assert.ThrowsAsync<VmPsException>(() => new DockerArchiveImageSource(archive, "team/app:v2").FetchAsync(cache, null, CancellationToken.None));

        Assert.Equal("ImageTagNotFound", error.ErrorId);
        Assert.Contains("team/app:v1", error.Message);
    }

    [Fact]
    public async Task A_docker_save_layer_that_differs_from_its_diff_id_is_refused()
    {
        var layer = TestImage.LayerTar(("f", "real"));
        var claimed = TestImage.LayerTar(("f", "claimed"));
        var archive = WriteDockerArchive("team/app:v1", TestImage.Build([claimed, claimed], gzip: false).Config.Content, [layer]);

        var error = await Assert.ThrowsAsync<VmPsException>(() => new DockerArchiveImageSource(archive, null).FetchAsync(cache, null, CancellationToken.None));

        Assert.Equal("ImageArchiveInvalid", error.ErrorId);
        Assert.Contains("layer0/layer.tar", error.Message);
        Assert.False(Directory.Exists(scratch.Combine("home")));
    }

    /// <summary>An OCI layout: oci-layout, blobs/sha256/HEX, and index.json with one ref.name-annotated entry per tag.</summary>
    private string WriteLayout(IReadOnlyList<(string Tag, TestBlob Entry, IReadOnlyList<TestBlob> Blobs)> images)
    {
        var directory = Directory.CreateDirectory(scratch.Combine("layout")).FullName;
        Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        foreach (var blob in images.SelectMany(image => image.Blobs.Prepend(image.Entry)))
        {
            File.WriteAllBytes(Path.Combine(directory, "blobs", "sha256", BlobDigest.Hex(blob.Descriptor.Digest)), blob.Content);
        }

        var index = new OciIndex
        {
            MediaType = OciMediaTypes.ImageIndex,
            Manifests = images.Select(image => image.Entry.Descriptor with
            {
                Annotations = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = image.Tag },
            }).ToList(),
        };
        File.WriteAllBytes(Path.Combine(directory, "index.json"), index.ToJsonBytes());
        return directory;
    }

    /// <summary>
    /// A docker save archive of the classic layout: HEX.json config, ID/layer.tar per layer, manifest.json; the
    /// last layer repeats the first through a symlink, as docker writes duplicate layers.
    /// </summary>
    private string WriteDockerArchive(string repoTag, byte[] config, IReadOnlyList<byte[]> layers)
    {
        var path = scratch.Combine("image.tar");
        var configName = BlobDigest.Hex(BlobDigest.Compute(config)) + ".json";
        var layerNames = layers.Select((_, index) => $"layer{index}/layer.tar").ToList();
        var manifest = new JsonArray(new JsonObject
        {
            ["Config"] = configName,
            ["RepoTags"] = new JsonArray(repoTag),
            ["Layers"] = new JsonArray([.. layerNames.Append("dup/layer.tar").Select(name => (JsonNode?)name)]),
        });

        using var file = File.Create(path);
        using var writer = new TarWriter(file, TarEntryFormat.Ustar);
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, configName) { DataStream = new MemoryStream(config) });
        foreach (var (name, content) in layerNames.Zip(layers))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, Path.GetDirectoryName(name) + "/"));
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }

        writer.WriteEntry(new UstarTarEntry(TarEntryType.SymbolicLink, "dup/layer.tar") { LinkName = "../layer0/layer.tar" });
        writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(manifest.ToJsonString())) });
        return path;
    }
}

internal static class TestImageBlobs
{
    public static IReadOnlyList<TestBlob> Blobs(this TestImage image) => [image.Config, .. image.Layers];
}
