using System.Text.Json.Serialization;

namespace VmPs.Core.Images.Oci;

/// <summary>A reference to content by media type, digest and size (OCI image spec "descriptor").</summary>
public sealed record OciDescriptor(
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size)
{
    [JsonPropertyName("platform")]
    public OciPlatform? Platform { get; init; }

    [JsonPropertyName("annotations")]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}
