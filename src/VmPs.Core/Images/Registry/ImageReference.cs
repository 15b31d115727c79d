using System.Text.RegularExpressions;
using VmPs.Core.Images.Blobs;

namespace VmPs.Core.Images.Registry;

/// <summary>
/// A registry image reference, normalized like docker: "alpine:3.20" is docker.io/library/alpine:3.20 and a
/// reference without tag or digest means :latest.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>The tag or digest to ask the registry for; a digest wins when both are given (docker does the same).</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    public static ImageReference Parse(string text)
    {
        var match = ReferencePattern().Match(text ?? string.Empty);
        if (!match.Success)
        {
            throw Invalid(text, "expected [registry[:port]/]repository[:tag][@sha256:digest] in lowercase, for example alpine:3.20");
        }

        var name = match.Groups["name"].Value;
        var tag = match.Groups["tag"].Success ? match.Groups["tag"].Value : null;
        var digest = match.Groups["digest"].Success ? match.Groups["digest"].Value : null;
        if (digest is not null && !BlobDigest.IsValid(digest))
        {
            throw Invalid(text!, $"'{digest}' is not a sha256 digest of 64 lowercase hex digits");
        }

        var (registry, repository) = SplitRegistry(name);
        if (repository.Length > 255)
        {
            throw Invalid(text!, "the repository name is longer than 255 characters");
        }

        return new ImageReference(registry, repository, tag ?? (digest is null ? "latest" : null), digest);
    }

    /// <summary>The first path component is a registry host when it has a dot or a port or is localhost.</summary>
    private static (string Registry, string Repository) SplitRegistry(string name)
    {
        var slash = name.IndexOf('/');
        if (slash > 0)
        {
            var first = name[..slash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost" || first.StartsWith('['))
            {
                var registry = first is "index.docker.io" or "registry-1.docker.io" ? DockerHub : first;
                var path = name[(slash + 1)..];
                return (registry, registry == DockerHub && !path.Contains('/') ? "library/" + path : path);
            }
        }

        if (name.Any(char.IsUpper))
        {
            throw Invalid(name, "repository names must be lowercase");
        }

        return (DockerHub, slash < 0 ? "library/" + name : name);
    }

    public override string ToString()
    {
        var text = $"{Registry}/{Repository}";
        if (Tag is not null)
        {
            text += ":" + Tag;
        }

        return Digest is null ? text : text + "@" + Digest;
    }

    private static VmPsException Invalid(string? text, string reason) => new(
        VmPsErrorIds.ImageReferenceInvalid,
        VmPsErrorKind.InvalidArgument,
        $"'{text}' is not a valid image reference: {reason}.",
        text);

    // name: optional host[:port]/ then lowercase path components separated by '/'; then :tag and/or @digest.
    [GeneratedRegex(
        @"^(?<name>(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>[a-z0-9]+:[A-Za-z0-9=_+.-]+))?\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();
}
