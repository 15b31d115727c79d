using VmPs.Core;
using VmPs.Core.Access;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the user cmdlets (users, keys, quotas, tokens, VM access): the user manager and name patterns.</summary>
public abstract class UserCmdlet : AsyncCmdlet
{
    protected IUserManager Users => Services.Users;

    protected void WriteUser(VmUser user) => WriteTypedObject(user, PSTypeNames.VmUser);

    /// <summary>
    /// Set-VmUser and Set-VmQuota: validates the change (before ShouldProcess, so -WhatIf fails where the change
    /// would), asks to apply it, listing the changes, applies it and, with -PassThru, outputs the user.
    /// </summary>
    protected void ChangeUser(
        string name, string action, IEnumerable<string> changes, Func<CancellationToken, Task> validate, Func<CancellationToken, Task<VmUser>> apply, bool passThru)
    {
        try
        {
            Await(validate);
            var listed = string.Join(", ", changes);
            if (!ShouldProcess(name, $"{action} ({(listed.Length > 0 ? listed : "no change")})"))
            {
                return;
            }

            var user = Await(apply);
            if (passThru)
            {
                WriteUser(user);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    /// <summary>The users whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<VmUser> MatchingUsers(string pattern) =>
        NamePatterns.Matching(Await(Users.GetAllAsync), user => user.Name, pattern);

    /// <summary>
    /// Runs <paramref name="process"/> for each user given as objects or as names (wildcards expand over the stored
    /// users; a literal unknown name is UserNotFound, before any action), with the user's stored name.
    /// </summary>
    protected void ForEachUser(VmUser[]? objects, IEnumerable<string> names, Action<string> process) =>
        ForEachNamed(
            objects?.Select(user => user.Name) ?? names,
            pattern => MatchingUsers(pattern).Select(user => user.Name),
            name => Await(cancellationToken => Users.GetAsync(name, cancellationToken)).Name,
            process);

    /// <summary>Runs <paramref name="process"/> for each VM named (wildcards expand; a literal unknown name is VmNotFound, before any action).</summary>
    protected void ForEachVm(IEnumerable<string> names, Action<string> process) =>
        ForEachNamed(
            names,
            pattern => NamePatterns.Matching(Await(Services.Vms.GetAllAsync), vm => vm.Name, pattern).Select(vm => vm.Name),
            name => Await(cancellationToken => Services.Vms.GetAsync(name, cancellationToken)).Name,
            process);
}
