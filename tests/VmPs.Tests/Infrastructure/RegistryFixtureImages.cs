using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Oci;

namespace VmPs.Tests.Infrastructure;

/// <summary>Which manifest family a test image uses.</summary>
public enum TestManifestFormat
{
    Oci,
    Docker,
}

/// <summary>A blob's bytes with its descriptor.</summary>
public sealed record TestBlob(OciDescriptor Descriptor, byte[] Content)
{
    public static TestBlob Of(string mediaType, byte[] content) => new(new OciDescriptor(mediaType, BlobDigest.Compute(content), content.Length), content);
}

/// <summary>
/// An image built in memory from layer tars: config blob (diff_ids computed), layer blobs (optionally gzipped)
/// and manifest. The registry pusher, the OCI layout writer and the docker-archive writer all start from it.
/// </summary>
public sealed class TestImage
{
    private TestImage(TestBlob config, IReadOnlyList<TestBlob> layers, TestBlob manifest)
    {
        Config = config;
        Layers = layers;
        Manifest = manifest;
    }

    public TestBlob Config { get; }

    public IReadOnlyList<TestBlob> Layers { get; }

    /// <summary>The manifest's bytes; its descriptor's digest is what a registry reports for the image.</summary>
    public TestBlob Manifest { get; }

    public string Digest => Manifest.Descriptor.Digest;

    /// <param name="layerMediaType">
    /// When set, the layers are used exactly as given under this media type (for example pre-compressed tar+zstd),
    /// and <paramref name="gzip"/> is ignored.
    /// </param>
    public static TestImage Build(
        IReadOnlyList<byte[]> layerTars,
        OciImageConfig? config = null,
        bool gzip = true,
        TestManifestFormat format = TestManifestFormat.Oci,
        string? layerMediaType = null)
    {
        var oci = format == TestManifestFormat.Oci;
        gzip &= layerMediaType is null;
        var layerType = layerMediaType ?? (oci, gzip) switch
        {
            (true, true) => OciMediaTypes.LayerGzip,
            (true, false) => OciMediaTypes.Layer,
            (false, true) => OciMediaTypes.DockerLayerGzip,
            (false, false) => OciMediaTypes.DockerLayer,
        };
        var layers = layerTars.Select(tar => TestBlob.Of(layerType, gzip ? Gzip(tar) : tar)).ToList();
        var diffIds = layerTars.Select(tar => BlobDigest.Compute(tar)).ToList();
        var configBlob = TestBlob.Of(oci ? OciMediaTypes.ImageConfig : OciMediaTypes.DockerConfig, ConfigJson(config ?? new OciImageConfig(), diffIds));
        var manifest = new OciManifest
        {
            MediaType = oci ? OciMediaTypes.ImageManifest : OciMediaTypes.DockerManifest,
            Config = configBlob.Descriptor,
            Layers = layers.Select(layer => layer.Descriptor).ToList(),
        };
        return new TestImage(configBlob, layers, TestBlob.Of(manifest.MediaType!, manifest.ToJsonBytes()));
    }

    /// <summary>An OCI index (or Docker manifest list) of images by platform.</summary>
    public static TestBlob Index(IEnumerable<(OciPlatform Platform, TestImage Image)> entries, TestManifestFormat format = TestManifestFormat.Oci)
    {
        var index = new OciIndex
        {
            MediaType = format == TestManifestFormat.Oci ? OciMediaTypes.ImageIndex : OciMediaTypes.DockerManifestList,
            Manifests = entries.Select(entry => entry.Image.Manifest.Descriptor with { Platform = entry.Platform }).ToList(),
        };
        return TestBlob.Of(index.MediaType!, index.ToJsonBytes());
    }

    /// <summary>A layer tar of regular files (path, content), with their parent directories.</summary>
    public static byte[] LayerTar(params (string Path, string Content)[] files) =>
        LayerTar(files.Select(file => (file.Path, Encoding.UTF8.GetBytes(file.Content))).ToArray());

    public static byte[] LayerTar(params (string Path, byte[] Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            var directories = new HashSet<string>();
            foreach (var (path, content) in files)
            {
                var parts = path.Split('/');
                for (var depth = 1; depth < parts.Length; depth++)
                {
                    var directory = string.Join('/', parts[..depth]) + "/";
                    if (directories.Add(directory))
                    {
                        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, directory) { Mode = (UnixFileMode)0b111_101_101 });
                    }
                }

                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    Mode = (UnixFileMode)0b111_101_101,
                    DataStream = new MemoryStream(content),
                });
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return buffer.ToArray();
    }

    private static byte[] ConfigJson(OciImageConfig config, IReadOnlyList<string> diffIds)
    {
        var runtime = new JsonObject
        {
            ["Entrypoint"] = Array(config.Entrypoint),
            ["Cmd"] = Array(config.Cmd),
            ["Env"] = Array(config.Env),
            ["WorkingDir"] = config.WorkingDir ?? string.Empty,
            ["User"] = config.User ?? string.Empty,
            ["ExposedPorts"] = new JsonObject(config.ExposedPorts.Select(port => KeyValuePair.Create(port, (JsonNode?)new JsonObject()))),
            ["Labels"] = new JsonObject(config.Labels.Select(label => KeyValuePair.Create(label.Key, (JsonNode?)label.Value))),
        };
        if (config.StopSignal is not null)
        {
            runtime["StopSignal"] = config.StopSignal;
        }

        var document = new JsonObject
        {
            ["created"] = (config.Created ?? new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero)).ToString("O"),
            ["architecture"] = config.Architecture ?? "amd64",
            ["os"] = config.Os ?? "linux",
            ["config"] = runtime,
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = Array(diffIds) },
        };
        if (config.Variant is not null)
        {
            document["variant"] = config.Variant;
        }

        return JsonSerializer.SerializeToUtf8Bytes(document);
    }

    private static JsonArray Array(IEnumerable<string> items) => new(items.Select(item => (JsonNode?)item).ToArray());
}
