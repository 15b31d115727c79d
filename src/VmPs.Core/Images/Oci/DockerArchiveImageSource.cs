using System.Security.Cryptography;
using System.Text.Json;
using VmPs.Core.Archives;
using VmPs.Core.Images.Blobs;
using VmPs.Core.Images.Registry;
using VmPs.Protocol.Archives;
using VmPs.Protocol.Streams;

namespace VmPs.Core.Images.Oci;

/// <summary>
/// An image in a <c>docker save</c> archive: manifest.json names the config and the layer tars (often
/// uncompressed) by path. The archive's files are hashed to get their digests and imported into the blob cache
/// under a synthesized Docker v2 manifest, so the rest of the pipeline treats it like a pulled image.
/// </summary>
public sealed class DockerArchiveImageSource : IImageSource
{
    private const string BlobPathPrefix = "blobs/sha256/";

    private readonly string tarPath;
    private readonly string? tag;

    public DockerArchiveImageSource(string tarPath, string? tag)
    {
        this.tarPath = Path.GetFullPath(tarPath);
        this.tag = tag;
    }

    private string SourceReference => tag is null ? tarPath : $"{tarPath}:{tag}";

    public async Task<FetchedImage> FetchAsync(BlobCache cache, IProgress<ImagePullProgress>? progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(tarPath))
        {
            throw new VmPsException(VmPsErrorIds.ImageArchiveNotFound, VmPsErrorKind.ObjectNotFound, $"{tarPath} does not exist.", tarPath);
        }

        progress?.Report(new ImagePullProgress("manifest", 0, 0, 0, 0));
        var files = await ArchiveFiles.ReadAsync(tarPath, cancellationToken).ConfigureAwait(false);
        var (configPath, layerPaths) = SelectImage(await files.ReadAllBytesAsync(tarPath, "manifest.json", cancellationToken).ConfigureAwait(false));

        var config = await DescribeAsync(files, configPath, OciMediaTypes.DockerConfig, cancellationToken).ConfigureAwait(false);
        var layers = new List<OciDescriptor>();
        foreach (var layerPath in layerPaths)
        {
            progress?.Report(new ImagePullProgress("verify", 0, 0, layers.Count, layerPaths.Count));
            var mediaType = await LayerMediaTypeAsync(files, layerPath, cancellationToken).ConfigureAwait(false);
            layers.Add(await DescribeAsync(files, layerPath, mediaType, cancellationToken).ConfigureAwait(false));
        }

        var diffIds = OciImageConfig.Parse(await files.ReadAllBytesAsync(tarPath, configPath, cancellationToken).ConfigureAwait(false)).DiffIds;
        for (var i = 0; i < layers.Count && i < diffIds.Count; i++)
        {
            // An uncompressed layer's digest is its diff_id: a mismatch means the archive is not what its config says.
            if (layers[i].MediaType == OciMediaTypes.DockerLayer && layers[i].Digest != diffIds[i])
            {
                throw Invalid($"layer {layerPaths[i]} hashes to {layers[i].Digest} but the image config expects {diffIds[i]}");
            }
        }

        var manifest = new OciManifest { MediaType = OciMediaTypes.DockerManifest, Config = config, Layers = layers };
        var paths = new Dictionary<string, string> { [config.Digest] = configPath };
        foreach (var (path, layer) in layerPaths.Zip(layers))
        {
            paths[layer.Digest] = path;
        }
        return await ImageBlobFetcher.FetchAsync(
            SourceReference,
            BlobDigest.Compute(manifest.ToJsonBytes()),
            manifest,
            selectedPlatform: null,
            (blob, offset, token) => Task.FromResult(files.Open(tarPath, paths[blob.Digest], offset)),
            cache,
            progress,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The manifest.json entry for the tag (RepoTags), or the only entry.</summary>
    private (string Config, IReadOnlyList<string> Layers) SelectImage(byte[] manifestJson)
    {
        try
        {
            using var document = JsonDocument.Parse(manifestJson);
            var images = document.RootElement.EnumerateArray().ToList();
            var image = tag is null
                ? images.Count == 1 ? images[0] : throw TagRequired(images)
                : images.FirstOrDefault(candidate => RepoTags(candidate).Any(repoTag => SameReference(repoTag, tag)));
            if (image.ValueKind != JsonValueKind.Object)
            {
                throw new VmPsException(
                    VmPsErrorIds.ImageTagNotFound,
                    VmPsErrorKind.ObjectNotFound,
                    $"{tarPath} has no image tagged '{tag}'; tags: {string.Join(", ", images.SelectMany(RepoTags).DefaultIfEmpty("none"))}.",
                    SourceReference);
            }

            var config = image.GetProperty("Config").GetString() ?? throw new JsonException("Config is null");
            var layers = image.GetProperty("Layers").EnumerateArray().Select(layer => layer.GetString() ?? throw new JsonException("a layer path is null")).ToList();
            return (config, layers);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw Invalid($"manifest.json is not a docker save manifest: {ex.Message}");
        }
    }

    private static IEnumerable<string> RepoTags(JsonElement image) =>
        image.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array
            ? tags.EnumerateArray().Select(item => item.GetString()).OfType<string>()
            : [];

    private static bool SameReference(string repoTag, string wanted) =>
        repoTag == wanted || ImageReference.Parse(repoTag).ToString() == ImageReference.Parse(wanted).ToString();

    private VmPsException TagRequired(List<JsonElement> images) => new(
        VmPsErrorIds.ImageTagRequired,
        VmPsErrorKind.InvalidArgument,
        $"{tarPath} holds {images.Count} images; pass -Tag with one of: {string.Join(", ", images.SelectMany(RepoTags).DefaultIfEmpty("none"))}.",
        tarPath);

    private async Task<OciDescriptor> DescribeAsync(ArchiveFiles files, string path, string mediaType, CancellationToken cancellationToken)
    {
        var size = files.Length(tarPath, path);
        var normalized = ArchiveFiles.Normalize(path);
        // Archives from docker 25+ store blobs under their digest; older ones need hashing (the cache verifies both).
        if (normalized.StartsWith(BlobPathPrefix, StringComparison.Ordinal) && BlobDigest.IsValid("sha256:" + normalized[BlobPathPrefix.Length..]))
        {
            return new OciDescriptor(mediaType, "sha256:" + normalized[BlobPathPrefix.Length..], size);
        }

        await using var stream = files.Open(tarPath, path, 0);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return new OciDescriptor(mediaType, BlobDigest.FromHash(hash), size);
    }

    private async Task<string> LayerMediaTypeAsync(ArchiveFiles files, string path, CancellationToken cancellationToken)
    {
        await using var stream = files.Open(tarPath, path, 0);
        var magic = new byte[4];
        var read = await stream.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? OciMediaTypes.DockerLayerGzip
            : read == 4 && magic is [0x28, 0xb5, 0x2f, 0xfd] ? OciMediaTypes.LayerZstd
            : OciMediaTypes.DockerLayer;
    }

    private VmPsException Invalid(string reason) => new(VmPsErrorIds.ImageArchiveInvalid, VmPsErrorKind.InvalidData, $"{tarPath} is not a docker save archive: {reason}.", tarPath);

    /// <summary>Where each regular file's bytes sit inside the (uncompressed, seekable) tar, with symlinks resolved.</summary>
    private sealed class ArchiveFiles
    {
        private readonly Dictionary<string, (long Offset, long Length)> regular = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> links = new(StringComparer.Ordinal);

        /// <summary>Indexes the archive (within <see cref="TarLimits.Default"/>) without reading any content.</summary>
        public static async Task<ArchiveFiles> ReadAsync(string tarPath, CancellationToken cancellationToken)
        {
            var files = new ArchiveFiles();
            var archive = new FileStream(tarPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: true);
            await using var reader = new TarArchiveReader(archive, TarLimits.Default);
            try
            {
                while (await reader.ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    var name = Normalize(entry.Name);
                    if (entry.Kind == TarEntryKind.File)
                    {
                        files.regular[name] = (entry.DataOffset, entry.Size);
                    }
                    else if (entry.Kind == TarEntryKind.SymbolicLink)
                    {
                        files.links[name] = Normalize(Path.Combine(Path.GetDirectoryName(name) ?? string.Empty, entry.LinkName));
                    }
                }
            }
            catch (TarArchiveException ex)
            {
                throw TarArchiveFailure.ToVmPsException(ex, "ImageArchive", tarPath, tarPath);
            }

            return files;
        }

        public static string Normalize(string name)
        {
            var parts = new List<string>();
            foreach (var part in name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == "..")
                {
                    if (parts.Count > 0)
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }
                }
                else if (part != ".")
                {
                    parts.Add(part);
                }
            }

            return string.Join('/', parts);
        }

        public long Length(string tarPath, string path) => Find(tarPath, path).Length;

        /// <summary>A JSON document of the archive (manifest.json, an image config), at most <see cref="OciLimits.MaxDocumentBytes"/>.</summary>
        public async Task<byte[]> ReadAllBytesAsync(string tarPath, string path, CancellationToken cancellationToken)
        {
            var length = Find(tarPath, path).Length;
            if (length > OciLimits.MaxDocumentBytes)
            {
                throw new VmPsException(
                    VmPsErrorIds.ImageArchiveLimitExceeded,
                    VmPsErrorKind.LimitsExceeded,
                    $"{tarPath}: {path} is {length} bytes; a manifest or image config may have at most {OciLimits.MaxDocumentBytes}.",
                    tarPath);
            }

            await using var stream = Open(tarPath, path, 0);
            var content = new byte[length];
            await stream.ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
            return content;
        }

        public Stream Open(string tarPath, string path, long offset)
        {
            var (start, length) = Find(tarPath, path);
            var file = new FileStream(tarPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, useAsync: true);
            return new RangeStream(file, start + offset, length - offset);
        }

        private (long Offset, long Length) Find(string tarPath, string path)
        {
            var name = Normalize(path);
            for (var hops = 0; links.TryGetValue(name, out var target) && hops < 16; hops++)
            {
                name = target;
            }

            return regular.TryGetValue(name, out var location)
                ? location
                : throw new VmPsException(VmPsErrorIds.ImageArchiveInvalid, VmPsErrorKind.InvalidData, $"{tarPath} is not a docker save archive: it lacks {path}.", tarPath);
        }
    }

    /// <summary>A read-only window onto part of a file.</summary>
    private sealed class RangeStream : DelegatingStream
    {
        private long remaining;

        public RangeStream(FileStream file, long start, long length)
            : base(file)
        {
            file.Position = start;
            remaining = length;
        }

        public override bool CanWrite => false;

        public override int Read(Span<byte> buffer)
        {
            var read = Inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
            remaining -= read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, remaining)], cancellationToken).ConfigureAwait(false);
            remaining -= read;
            return read;
        }
    }
}
