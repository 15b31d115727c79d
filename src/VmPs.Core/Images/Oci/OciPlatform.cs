using System.Text.Json.Serialization;

namespace VmPs.Core.Images.Oci;

/// <summary>An image platform as OCI writes it: os/architecture[/variant], for example linux/arm64/v8.</summary>
public sealed record OciPlatform(
    [property: JsonPropertyName("os")] string Os,
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("variant")] string? Variant = null)
{
    public static OciPlatform Default { get; } = new("linux", "amd64");

    public static OciPlatform Parse(string text)
    {
        var parts = text.Trim().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrWhiteSpace))
        {
            throw new VmPsException(
                VmPsErrorIds.PlatformInvalid,
                VmPsErrorKind.InvalidArgument,
                $"'{text}' is not a platform: expected os/architecture[/variant], for example linux/amd64 or linux/arm64/v8.",
                text);
        }

        return new OciPlatform(parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant(), parts.Length == 3 ? parts[2].ToLowerInvariant() : null);
    }

    /// <summary>
    /// True when an image built for <paramref name="candidate"/> runs as this platform. A request without a
    /// variant accepts any variant; arm64 without a variant means v8.
    /// </summary>
    public bool IsSatisfiedBy(OciPlatform candidate) =>
        string.Equals(Os, candidate.Os, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Architecture, candidate.Architecture, StringComparison.OrdinalIgnoreCase)
        && (Variant is null || string.Equals(NormalizedVariant, candidate.NormalizedVariant, StringComparison.OrdinalIgnoreCase));

    private string? NormalizedVariant => Variant ?? (Architecture == "arm64" ? "v8" : null);

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
