using VmPs.Core.Access;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>
/// sshd's AuthorizedKeysCommand: for the login name and the fingerprint of the key a client offers, the one
/// authorized_keys line that lets it in, or nothing. Only users' keys from the state database are known, and a VM's
/// name is accepted only from a key of a user who may reach that VM, so a stranger is refused before any VM code runs.
/// The line lets ssh -J open port 22 of the VMs the login may reach (every VM of the user for "vmps", the VM itself for
/// its name), as they are when the key is looked up, and nothing else.
/// </summary>
public static class SshGatewayKeys
{
    /// <summary>The login name of command mode (ssh vmps@HOST ls).</summary>
    public const string CommandAccount = "vmps";

    /// <param name="listVms">Every VM (IVmManager.GetAllAsync), asked only once the key is a user's.</param>
    public static async Task<string?> AuthorizedKeyAsync(
        IUserManager users, Func<CancellationToken, Task<IReadOnlyList<VmInfo>>> listVms, string loginName, string fingerprint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(listVms);
        if (await users.FindByKeyAsync(fingerprint, cancellationToken).ConfigureAwait(false) is not { } user
            || (loginName != CommandAccount && !await users.CanAccessAsync(user, loginName, cancellationToken).ConfigureAwait(false)))
        {
            return null;
        }

        var key = user.SshKeys.Single(key => key.Fingerprint == fingerprint);
        var reachable = (await listVms(cancellationToken).ConfigureAwait(false))
            .Where(vm => loginName == CommandAccount ? SshGatewayTargets.MayReach(user, vm) : string.Equals(vm.Name, loginName, StringComparison.OrdinalIgnoreCase));
        var permitOpen = SshGatewayTargets.PermitOpen(reachable).ToList();

        // restrict turns off forwarding of every kind and the pty; a pty is given back for interactive shells in VMs, and
        // TCP forwarding only with permitopen (without any, port-forwarding would open everything): sshd_config allows
        // local forwarding alone, so the client may open those targets and listen nowhere.
        IEnumerable<string> options = permitOpen.Count == 0 ? ["restrict", "pty"] : ["restrict", "pty", "port-forwarding", .. permitOpen];
        return $"{string.Join(',', options)},command=\"{SessionCommand(user.Id)}\" {key.PublicKey}";
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
