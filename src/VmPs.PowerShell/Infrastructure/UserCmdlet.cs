using VmPs.Core.Access;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the user cmdlets (users, keys, quotas, tokens, VM access): the user manager and name patterns.</summary>
public abstract class UserCmdlet : AsyncCmdlet
{
    protected IUserManager Users => Services.Users;

    protected void WriteUser(VmUser user) => WriteTypedObject(user, PSTypeNames.VmUser);

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
