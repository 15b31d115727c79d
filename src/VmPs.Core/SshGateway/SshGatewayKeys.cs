using VmPs.Core.Access;

namespace VmPs.Core.SshGateway;

/// <summary>
/// sshd's AuthorizedKeysCommand: for the login name and the fingerprint of the key a client offers, the one
/// authorized_keys line that lets it in, or nothing. Only users' keys from the state database are known, and a VM's
/// name is accepted only from a key of a user who may reach that VM, so a stranger is refused before any VM code runs.
/// </summary>
public static class SshGatewayKeys
{
    /// <summary>The login name of command mode (ssh vmps@HOST ls).</summary>
    public const string CommandAccount = "vmps";

    public static async Task<string?> AuthorizedKeyAsync(IUserManager users, string loginName, string fingerprint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        if (await users.FindByKeyAsync(fingerprint, cancellationToken).ConfigureAwait(false) is not { } user
            || (loginName != CommandAccount && !await users.CanAccessAsync(user, loginName, cancellationToken).ConfigureAwait(false)))
        {
            return null;
        }

        var key = user.SshKeys.Single(key => key.Fingerprint == fingerprint);
        // restrict turns off forwarding of every kind and the pty; a pty is given back for interactive shells in VMs.
        return $"restrict,pty,command=\"{SessionCommand(user.Id)}\" {key.PublicKey}";
    }

    /// <summary>The forced command: sshd hands it to the account's shell, the gateway program, as "-c COMMAND".</summary>
    public static string SessionCommand(Guid userId) => $"session --user {userId:D}";

    /// <summary>The user id of a forced command, or null when the text is anything else.</summary>
    public static Guid? ParseSessionCommand(string command)
    {
        const string prefix = "session --user ";
        return command.StartsWith(prefix, StringComparison.Ordinal)
            && command.Length == prefix.Length + 36
            && Guid.TryParseExact(command.AsSpan(prefix.Length), "D", out var id)
            ? id
            : null;
    }
}
