using System.Text.Json;
using System.Text.Json.Serialization;

namespace VmPs.Core.Images.Oci;

/// <summary>
/// A manifest document as served by a registry or stored in an OCI layout: either an image manifest
/// (OCI or Docker v2 schema 2) or an index of per-platform manifests (OCI index or Docker manifest list).
/// </summary>
public abstract record OciManifestDocument
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    public string? MediaType { get; init; }

    [JsonPropertyName("annotations")]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    internal static JsonSerializerOptions JsonOptions { get; } = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Parses a manifest or index; <paramref name="contentType"/> (the HTTP Content-Type or the descriptor's media
    /// type) decides when the document itself does not name its kind.
    /// </summary>
    public static OciManifestDocument Parse(ReadOnlySpan<byte> json, string? contentType, string source)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            var mediaType = root.TryGetProperty("mediaType", out var declared) && declared.ValueKind == JsonValueKind.String
                ? declared.GetString()
                : contentType;
            if (root.TryGetProperty("schemaVersion", out var version) && version.ValueKind == JsonValueKind.Number && version.GetInt32() == 1)
            {
                throw Unsupported(source, "Docker v2 schema 1 manifests are not supported");
            }

            if (root.TryGetProperty("manifests", out _) || (mediaType is not null && OciMediaTypes.IsIndex(mediaType)))
            {
                return root.Deserialize<OciIndex>(JsonOptions) ?? throw Unsupported(source, "empty document");
            }

            if (root.TryGetProperty("config", out _) && root.TryGetProperty("layers", out _))
            {
                var manifest = root.Deserialize<OciManifest>(JsonOptions) ?? throw Unsupported(source, "empty document");
                return manifest.Config is null || manifest.Layers is null ? throw Unsupported(source, "config or layers missing") : manifest;
            }

            throw Unsupported(source, $"media type '{mediaType ?? "none"}' is neither an image manifest nor an index");
        }
        catch (JsonException ex)
        {
            throw Unsupported(source, ex.Message);
        }
    }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, GetType(), JsonOptions);

    private static VmPsException Unsupported(string source, string reason) => new(
        VmPsErrorIds.ManifestInvalid,
        VmPsErrorKind.InvalidData,
        $"The manifest of {source} cannot be read: {reason}.",
        source);
}

/// <summary>An image manifest: one config blob and the ordered layer blobs (OCI or Docker v2 schema 2).</summary>
public sealed record OciManifest : OciManifestDocument
{
    [JsonPropertyName("config")]
    public required OciDescriptor Config { get; init; }

    [JsonPropertyName("layers")]
    public required IReadOnlyList<OciDescriptor> Layers { get; init; }
}

/// <summary>An OCI image index or Docker manifest list: manifests per platform (or, in a layout, per tag).</summary>
public sealed record OciIndex : OciManifestDocument
{
    [JsonPropertyName("manifests")]
    public required IReadOnlyList<OciDescriptor> Manifests { get; init; }

    /// <summary>The entry for <paramref name="platform"/>; an error listing the platforms on offer when none fits.</summary>
    public OciDescriptor SelectPlatform(OciPlatform platform, string source)
    {
        var candidates = Manifests.Where(entry => entry.Platform is not null && platform.IsSatisfiedBy(entry.Platform)).ToList();
        if (candidates.Count > 0)
        {
            // Prefer an exact variant match (linux/arm/v7 over linux/arm/v6 when both satisfy "linux/arm").
            return candidates.FirstOrDefault(entry => entry.Platform!.Variant == platform.Variant) ?? candidates[0];
        }

        var available = Manifests.Select(entry => entry.Platform?.ToString() ?? "unknown").Distinct().ToList();
        throw new VmPsException(
            VmPsErrorIds.PlatformNotFound,
            VmPsErrorKind.ObjectNotFound,
            $"{source} has no image for {platform}; available platforms: {(available.Count == 0 ? "none" : string.Join(", ", available))}.",
            source)
        {
            RecommendedAction = "Pass -Platform with one of the available platforms.",
        };
    }
}
