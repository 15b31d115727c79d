using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace VmPs.Core.Access;

/// <summary>
/// An OpenSSH public key as given in an authorized_keys line ("type base64 [comment]"), checked before it is stored:
/// the keys are later written into sshd's AuthorizedKeysCommand output, so only a known type, canonical base64 whose
/// blob names that same type, and a plain comment are accepted (no options such as command="...", no line breaks).
/// </summary>
public sealed partial record SshPublicKey(string Type, string KeyData, string? Comment)
{
    public const int MaxLineLength = 16 * 1024;
    public const int MaxCommentLength = 256;

    private static readonly HashSet<string> KnownTypes = new(StringComparer.Ordinal)
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    };

    /// <summary>OpenSSH's fingerprint: "SHA256:" and the unpadded base64 of the blob's SHA-256.</summary>
    public string Fingerprint => "SHA256:" + Convert.ToBase64String(SHA256.HashData(Convert.FromBase64String(KeyData))).TrimEnd('=');

    /// <summary>The key as one authorized_keys line ("type base64 [comment]"), as cloud-init and EC2's metadata give it.</summary>
    public string AuthorizedKeysLine => Comment is null ? $"{Type} {KeyData}" : $"{Type} {KeyData} {Comment}";

    /// <summary>Parses one key; InvalidSshPublicKey says what is wrong.</summary>
    public static SshPublicKey Parse(string? line)
    {
        var text = line?.Trim() ?? "";
        if (text.Length == 0 || text.Length > MaxLineLength || text.Contains('\n') || text.Contains('\r'))
        {
            throw Invalid(line, $"give one OpenSSH public key line of at most {MaxLineLength} characters");
        }

        var parts = text.Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !KnownTypes.Contains(parts[0]))
        {
            throw Invalid(line, $"it must start with a key type ({string.Join(", ", KnownTypes)}) and the key data; authorized_keys options are not accepted");
        }

        var blob = DecodeBlob(parts[1]) ?? throw Invalid(line, "the key data is not base64");
        if (ReadBlobType(blob) != parts[0])
        {
            throw Invalid(line, $"the key data does not hold a {parts[0]} key");
        }

        var comment = parts.Length == 3 ? parts[2].Trim() : null;
        if (comment is not null && (comment.Length > MaxCommentLength || !CommentPattern().IsMatch(comment)))
        {
            throw Invalid(line, $"the comment must be at most {MaxCommentLength} printable characters");
        }

        return new SshPublicKey(parts[0], Convert.ToBase64String(blob), string.IsNullOrEmpty(comment) ? null : comment);
    }

    private static byte[]? DecodeBlob(string base64)
    {
        var buffer = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, buffer, out var length) && length >= 4 ? buffer[..length] : null;
    }

    /// <summary>The blob's first field, the key type (an SSH string: a big-endian length and the bytes).</summary>
    private static string? ReadBlobType(byte[] blob)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        return length is > 0 and <= 64 && length <= blob.Length - 4 ? System.Text.Encoding.ASCII.GetString(blob, 4, (int)length) : null;
    }

    private static VmPsException Invalid(string? line, string why) => new(
        VmPsErrorIds.InvalidSshPublicKey,
        VmPsErrorKind.InvalidArgument,
        $"Not a usable SSH public key: {why}.",
        line)
    {
        RecommendedAction = "Pass the content of a .pub file, such as ~/.ssh/id_ed25519.pub.",
    };

    [GeneratedRegex(@"\A[\x20-\x7E]+\z")]
    private static partial Regex CommentPattern();
}
