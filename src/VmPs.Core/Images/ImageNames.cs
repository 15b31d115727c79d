using System.Text;
using System.Text.RegularExpressions;

namespace VmPs.Core.Images;

/// <summary>
/// The rules for image names (what New-Vm -Image takes) and the default name of a pulled image:
/// the last path component of the repository with its tag, so docker.io/library/alpine:3.20 is
/// "alpine:3.20" and 127.0.0.1:5000/team/app@sha256:0123... is "app@sha256-0123456789ab" (a reference
/// with both a tag and a digest is named by its tag).
/// </summary>
public static partial class ImageNames
{
    public const int MaxLength = 128;

    private const int DigestCharactersInName = 12;

    /// <summary>Throws InvalidImageName unless <paramref name="name"/> is a valid image name.</summary>
    public static void Validate(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxLength || !ValidName().IsMatch(name))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidImageName,
                VmPsErrorKind.InvalidArgument,
                $"'{name}' is not a valid image name: use up to {MaxLength} letters, digits, '.', '_', '-', '@' and ':', starting with a letter or digit.",
                name);
        }
    }

    /// <summary>The name an image from <paramref name="sourceReference"/> gets when no -Name is given.</summary>
    public static string DefaultFor(string sourceReference)
    {
        var lastComponent = sourceReference.TrimEnd('/')[(sourceReference.TrimEnd('/').LastIndexOf('/') + 1)..];
        var digestAt = lastComponent.IndexOf('@', StringComparison.Ordinal);
        if (digestAt >= 0 && lastComponent[..digestAt].Contains(':', StringComparison.Ordinal))
        {
            lastComponent = lastComponent[..digestAt];
        }
        else if (digestAt >= 0)
        {
            var digest = lastComponent[(digestAt + 1)..];
            var hex = digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..];
            lastComponent = $"{lastComponent[..digestAt]}@{digest.Split(':')[0]}-{hex[..Math.Min(DigestCharactersInName, hex.Length)]}";
        }

        var name = Sanitize(lastComponent);
        return name.Length > MaxLength ? name[..MaxLength] : name;
    }

    private static string Sanitize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var character in text)
        {
            builder.Append(char.IsAsciiLetterOrDigit(character) || character is '.' or '_' or '-' or ':' or '@' ? character : '-');
        }

        var name = builder.ToString().TrimStart('.', '_', '-', ':', '@');
        return name.Length == 0 ? "image" : name;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@:-]*\\z")]
    private static partial Regex ValidName();
}
