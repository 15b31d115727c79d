using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Access;
using VmPs.Core.Vms;

namespace VmPs.Core.Storage;

/// <summary>
/// New-Vm -UserData and -SshPublicKey as one cloud-init user-data document: a MIME multipart whose first part is the
/// user's (cloud-config or a script, as given) and whose last is VmPs's own cloud-config (the keys, and the bootcmd
/// that starts the agent), merged into the user's config by appending lists and recursing into maps (its Merge-Type),
/// so the user's keys and bootcmd and VmPs's all apply.
/// </summary>
public static class CloudInitUserData
{
    /// <summary>EC2's limit on user data, which VmPs keeps so that the same data works in both.</summary>
    public const int MaxBytes = 16 * 1024;

    private static readonly JsonSerializerOptions Unescaped = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The first line of each kind of user data cloud-init runs, and its MIME type.</summary>
    private static readonly (string Prefix, string MimeType)[] Kinds =
    [
        ("#cloud-config", "text/cloud-config"),
        ("#!", "text/x-shellscript"),
        ("#cloud-boothook", "text/cloud-boothook"),
        ("#include", "text/x-include-url"),
    ];

    /// <summary>The merged user-data; UserDataTooLarge or UserDataInvalid for what cloud-init could not take.</summary>
    public static string Compose(string? userData, IReadOnlyList<string> sshPublicKeys, string vmName)
    {
        ArgumentNullException.ThrowIfNull(sshPublicKeys);
        var keys = sshPublicKeys.Select(key => SshPublicKey.Parse(key).AuthorizedKeysLine);
        // JSON is YAML, and unescaped ('+' stays '+') it reads as the keys themselves.
        var own = "#cloud-config\n"
            + new JsonObject
            {
                ["ssh_authorized_keys"] = new JsonArray([.. keys.Select(key => JsonValue.Create(key))]),
                ["bootcmd"] = new JsonArray(new JsonArray("sh", "-c", DiskImageAgent.BootCommand)),
            }.ToJsonString(Unescaped)
            + "\n";
        var boundary = "vmps-" + Guid.NewGuid().ToString("N");
        var document = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Content-Type: multipart/mixed; boundary=\"{boundary}\"\nMIME-Version: 1.0\n\n");
        if (userData is not null)
        {
            AppendPart(document, boundary, MimeTypeOf(userData, vmName), "user-data", null, userData);
        }

        AppendPart(document, boundary, "text/cloud-config", "vmps.cfg", "list(append)+dict(recurse_array)+str()", own);
        return document.Append(CultureInfo.InvariantCulture, $"--{boundary}--\n").ToString();
    }

    /// <summary>UserDataTooLarge when <paramref name="userData"/> is over EC2's 16 KiB.</summary>
    public static void EnsureSize(string userData, string vmName)
    {
        ArgumentNullException.ThrowIfNull(userData);
        if (Encoding.UTF8.GetByteCount(userData) is var bytes && bytes > MaxBytes)
        {
            throw TooLarge(vmName, bytes);
        }
    }

    private static string MimeTypeOf(string userData, string vmName)
    {
        EnsureSize(userData, vmName);
        return Kinds.Where(kind => userData.StartsWith(kind.Prefix, StringComparison.Ordinal)).Select(kind => kind.MimeType).FirstOrDefault()
            ?? throw new VmPsException(
                VmPsErrorIds.UserDataInvalid,
                VmPsErrorKind.InvalidArgument,
                $"The user data of VM '{vmName}' is neither a cloud-config nor a script: its first line must be one of {string.Join(", ", Kinds.Select(kind => kind.Prefix))}.",
                vmName)
            {
                RecommendedAction = "Start the user data with '#cloud-config' (YAML) or '#!' (a script); VmPs makes the MIME multipart itself.",
            };
    }

    /// <summary>UserDataTooLarge: <paramref name="bytes"/> of user data are over EC2's 16 KiB.</summary>
    public static VmPsException TooLarge(string vmName, long bytes) => new(
        VmPsErrorIds.UserDataTooLarge,
        VmPsErrorKind.LimitsExceeded,
        string.Create(CultureInfo.InvariantCulture, $"The user data of VM '{vmName}' is {bytes} bytes: at most {MaxBytes} (16 KiB, as on EC2) are allowed."),
        vmName)
    {
        RecommendedAction = "Move large content out of the user data: have the script or cloud-config fetch it (runcmd, write_files with a URL) instead.",
    };

    private static void AppendPart(StringBuilder document, string boundary, string mimeType, string fileName, string? mergeType, string content)
    {
        document.Append(CultureInfo.InvariantCulture, $"--{boundary}\nContent-Type: {mimeType}; charset=\"utf-8\"\nMIME-Version: 1.0\n");
        if (mergeType is not null)
        {
            document.Append(CultureInfo.InvariantCulture, $"Merge-Type: {mergeType}\n");
        }

        document.Append(CultureInfo.InvariantCulture, $"Content-Transfer-Encoding: 8bit\nContent-Disposition: attachment; filename=\"{fileName}\"\n\n")
            .Append(content)
            // The line break before a boundary belongs to the boundary (RFC 2046): the content keeps its own.
            .Append('\n');
    }
}
