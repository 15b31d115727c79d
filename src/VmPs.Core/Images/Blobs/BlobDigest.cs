using System.Security.Cryptography;

namespace VmPs.Core.Images.Blobs;

/// <summary>Content digests in the "sha256:&lt;64 hex&gt;" form (the only algorithm registries require).</summary>
public static class BlobDigest
{
    private const string Prefix = "sha256:";

    public static string Compute(ReadOnlySpan<byte> content) => Prefix + Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();

    public static string FromHash(byte[] sha256) => Prefix + Convert.ToHexString(sha256).ToLowerInvariant();

    public static bool IsValid(string? digest) =>
        digest is { Length: 71 } && digest.StartsWith(Prefix, StringComparison.Ordinal) && digest.AsSpan(Prefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>The hex part of a valid digest; a specific error for anything else (the digest may come from hostile input).</summary>
    public static string Hex(string digest)
    {
        if (!IsValid(digest))
        {
            throw new VmPsException(
                VmPsErrorIds.DigestInvalid,
                VmPsErrorKind.InvalidData,
                $"'{digest}' is not a supported digest: expected sha256: followed by 64 lowercase hex digits.",
                digest);
        }

        return digest[Prefix.Length..];
    }
}
