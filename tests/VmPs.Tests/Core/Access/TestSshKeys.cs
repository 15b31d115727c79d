using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Access;

/// <summary>ed25519 key pairs made by the real ssh-keygen, with the fingerprint it reports.</summary>
internal static class TestSshKeys
{
    public static async Task<(string PublicKey, string Fingerprint)> NewAsync(ScratchDirectory directory, string comment)
    {
        var file = directory.Combine(comment);
        await ExternalTool.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], CancellationToken.None);
        var fingerprint = (await ExternalTool.RunCheckedAsync("ssh-keygen", ["-l", "-E", "sha256", "-f", file + ".pub"], CancellationToken.None)).StandardOutput.Split(' ')[1];
        return ((await File.ReadAllTextAsync(file + ".pub")).Trim(), fingerprint);
    }
}
