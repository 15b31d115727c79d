using System.Globalization;
using System.Text.Json;

namespace VmPs.Core.Images.Oci;

/// <summary>The parsed OCI/Docker image config blob (only what VmPs uses).</summary>
public sealed record OciImageConfig
{
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    public IReadOnlyList<string> Cmd { get; init; } = [];

    /// <summary>NAME=value entries.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    public string? WorkingDir { get; init; }

    public string? User { get; init; }

    /// <summary>Port/protocol entries such as "80/tcp".</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string? StopSignal { get; init; }

    public string? Os { get; init; }

    public string? Architecture { get; init; }

    public string? Variant { get; init; }

    public DateTimeOffset? Created { get; init; }

    /// <summary>The digests of the uncompressed layers, in order (rootfs.diff_ids).</summary>
    public IReadOnlyList<string> DiffIds { get; init; } = [];

    public OciPlatform? Platform => Os is null || Architecture is null ? null : new OciPlatform(Os, Architecture, Variant);

    /// <summary>Reads an OCI image config or a Docker container image config (the two share this layout).</summary>
    public static OciImageConfig Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("the document is not a JSON object");
            }

            var config = Property(root, "config");
            return new OciImageConfig
            {
                Entrypoint = Strings(Property(config, "Entrypoint")),
                Cmd = Strings(Property(config, "Cmd")),
                Env = Strings(Property(config, "Env")),
                WorkingDir = NonEmptyString(Property(config, "WorkingDir")),
                User = NonEmptyString(Property(config, "User")),
                ExposedPorts = Keys(Property(config, "ExposedPorts")),
                Labels = StringMap(Property(config, "Labels")),
                StopSignal = NonEmptyString(Property(config, "StopSignal")),
                Os = NonEmptyString(Property(root, "os")),
                Architecture = NonEmptyString(Property(root, "architecture")),
                Variant = NonEmptyString(Property(root, "variant")),
                Created = Timestamp(Property(root, "created")),
                DiffIds = Strings(Property(Property(root, "rootfs"), "diff_ids")),
            };
        }
        catch (JsonException ex)
        {
            throw Invalid(ex.Message);
        }
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static IReadOnlyList<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => element.EnumerateArray().Select(item => item.GetString() ?? string.Empty).ToArray(),
        JsonValueKind.String => [element.GetString()!],
        _ => [],
    };

    private static string? NonEmptyString(JsonElement element) =>
        element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 } text ? text : null;

    private static IReadOnlyList<string> Keys(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? element.EnumerateObject().Select(property => property.Name).ToArray() : [];

    private static IReadOnlyDictionary<string, string> StringMap(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
            ? element.EnumerateObject().ToDictionary(property => property.Name, property => property.Value.GetString() ?? string.Empty)
            : new Dictionary<string, string>();

    private static DateTimeOffset? Timestamp(JsonElement element) =>
        NonEmptyString(element) is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : null;

    private static VmPsException Invalid(string reason) => new(
        VmPsErrorIds.ImageConfigInvalid,
        VmPsErrorKind.InvalidData,
        $"The image config cannot be read: {reason}.");
}
