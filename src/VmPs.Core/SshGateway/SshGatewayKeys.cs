using VmPs.Core.Access;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>
/// sshd's AuthorizedKeysCommand: for the login name and the fingerprint of the key a client offers, the one
/// authorized_keys line that lets it in, or nothing. Only users' keys from the state database are known, and a VM's
/// name is accepted only from a key of a user who may reach that VM, so a stranger is refused before any VM code runs.
/// The line lets ssh -J open port 22 of the VMs the login may reach (every VM of the user for "vmps" and the user's own
/// name, the VM itself for its name), as they are when the key is looked up, and nothing else.
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
            || await ResolveLoginAsync(users, user, loginName, cancellationToken).ConfigureAwait(false) is not { } login)
        {
            return null;
        }

        var key = user.SshKeys.Single(key => key.Fingerprint == fingerprint);
        var reachable = (await listVms(cancellationToken).ConfigureAwait(false))
            .Where(vm => login == SshGatewayLogin.Commands ? SshGatewayTargets.MayReach(user, vm) : string.Equals(vm.Name, loginName, StringComparison.OrdinalIgnoreCase));
        var permitOpen = SshGatewayTargets.PermitOpen(reachable).ToList();

        // restrict turns off forwarding of every kind and the pty; a pty is given back for interactive shells in VMs, and
        // TCP forwarding only with permitopen (without any, port-forwarding would open everything): sshd_config allows
        // local forwarding alone, so the client may open those targets and listen nowhere.
        IEnumerable<string> options = permitOpen.Count == 0 ? ["restrict", "pty"] : ["restrict", "pty", "port-forwarding", .. permitOpen];
        return $"{string.Join(',', options)},command=\"{SessionCommand(user.Id)}\" {key.PublicKey}";
    }

    /// <summary>
    /// What <paramref name="loginName"/> opens for <paramref name="user"/>: command mode for "vmps" and for the user's own
    /// name (a bare ssh -J HOST:2222 logs in with the client's local user name), else the VM of that name when the user
    /// may reach it, which wins over the user's own name; null for anything else.
    /// </summary>
    public static async Task<SshGatewayLogin?> ResolveLoginAsync(IUserManager users, VmUser user, string loginName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(user);
        if (loginName == CommandAccount)
        {
            return SshGatewayLogin.Commands;
        }

        if (await users.CanAccessAsync(user, loginName, cancellationToken).ConfigureAwait(false))
        {
            return SshGatewayLogin.Vm;
        }

        return loginName == user.Name ? SshGatewayLogin.Commands : null;
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

/// <summary>What a gateway login runs (<see cref="SshGatewayKeys.ResolveLoginAsync"/>).</summary>
public enum SshGatewayLogin
{
    /// <summary>Command mode (new, ls, rm, restart, share), and ssh -J to every VM the user may reach.</summary>
    Commands,

    /// <summary>Proxy mode: a shell or the client's command in the VM of the login's name, and ssh -J to that VM.</summary>
    Vm,
}
