using System.Globalization;

namespace VmPs.Core.Access;

/// <summary>The user-facing errors about users, keys, tokens, grants and quotas, each with its stable ErrorId.</summary>
internal static class UserErrors
{
    public static VmPsException NotFound(string name) => new(
        VmPsErrorIds.UserNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No VmPs user named '{name}'.",
        name)
    {
        RecommendedAction = "Run Get-VmUser to list the users, or create one with New-VmUser.",
    };

    public static VmPsException NameInUse(string name) => new(
        VmPsErrorIds.UserNameInUse,
        VmPsErrorKind.ResourceExists,
        $"A user named '{name}' already exists.",
        name);

    public static VmPsException EmailInUse(string email, string owner) => new(
        VmPsErrorIds.UserEmailInUse,
        VmPsErrorKind.ResourceExists,
        $"The e-mail address '{email}' belongs to user '{owner}'.",
        email);

    public static VmPsException KeyInUse(string fingerprint, string owner) => new(
        VmPsErrorIds.SshKeyInUse,
        VmPsErrorKind.ResourceExists,
        $"The SSH key {fingerprint} is already a key of user '{owner}'; a key identifies one user.",
        fingerprint);

    public static VmPsException KeyNotFound(string user, string key) => new(
        VmPsErrorIds.SshKeyNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"User '{user}' has no SSH key {key}.",
        key)
    {
        RecommendedAction = $"Run (Get-VmUser {user}).SshKeys to list its keys by fingerprint.",
    };

    public static VmPsException OwnsResources(string user, IReadOnlyList<string> what) => new(
        VmPsErrorIds.UserOwnsResources,
        VmPsErrorKind.InvalidOperation,
        $"User '{user}' still owns {string.Join(", ", what)}.",
        user)
    {
        RecommendedAction = "Remove them, or hand them to another owner, before removing the user.",
    };

    public static VmPsException GrantToOwner(string vm, string user) => new(
        VmPsErrorIds.VmAccessToOwner,
        VmPsErrorKind.InvalidOperation,
        $"User '{user}' owns VM '{vm}' already.",
        vm);

    public static VmPsException GrantNotFound(string vm, string user) => new(
        VmPsErrorIds.VmAccessNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"VM '{vm}' is not shared with user '{user}'.",
        vm);

    /// <summary>The one quota error: which limit, what the user holds, and what the operation asked for.</summary>
    public static VmPsException QuotaExceeded(string user, VmQuotaLimit limit, long limitValue, long inUse, long requested, string unit) => new(
        VmPsErrorIds.QuotaExceeded,
        VmPsErrorKind.LimitsExceeded,
        string.Create(
            CultureInfo.InvariantCulture,
            $"User '{user}' would exceed its {limit} quota of {limitValue}: {inUse} {unit} in use, {requested} more requested."),
        user)
    {
        RecommendedAction = $"Free some (stop or remove VMs, remove volumes), or raise the limit with Set-VmQuota -User {user} -{limit}.",
    };
}
