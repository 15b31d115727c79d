namespace VmPs.Core.Access;

/// <summary>
/// The operations behind the user cmdlets (New-/Get-/Set-/Remove-VmUser, Add-/Remove-VmUserKey, Set-VmQuota,
/// Grant-/Revoke-VmAccess, New-VmUserToken) and the lookups of the access layer (keys, tokens, who may reach a VM).
/// <see cref="UserManager"/> is the real one.
/// </summary>
public interface IUserManager
{
    Task<VmUser> CreateAsync(VmUserCreateOptions options, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="CreateAsync"/> short of storing the user (New-VmUser -WhatIf).</summary>
    Task ValidateCreateAsync(VmUserCreateOptions options, CancellationToken cancellationToken);

    Task<IReadOnlyList<VmUser>> GetAllAsync(CancellationToken cancellationToken);

    /// <summary>The user with this name (case-insensitive); throws UserNotFound.</summary>
    Task<VmUser> GetAsync(string name, CancellationToken cancellationToken);

    Task<VmUser> SetAsync(string name, VmUserSetOptions options, CancellationToken cancellationToken);

    Task ValidateSetAsync(string name, VmUserSetOptions options, CancellationToken cancellationToken);

    /// <summary>Deletes the user, its keys, tokens and grants; refused (UserOwnsResources) while it owns VMs, volumes or images.</summary>
    Task RemoveAsync(string name, CancellationToken cancellationToken);

    Task<VmUserKey> AddKeyAsync(string name, string publicKey, CancellationToken cancellationToken);

    /// <summary>Removes a key given by its fingerprint (SHA256:...) or as its public key line.</summary>
    Task RemoveKeyAsync(string name, string key, CancellationToken cancellationToken);

    /// <summary>The fingerprint of the key to remove, once the user is found to have it (SshKeyNotFound otherwise).</summary>
    Task<string> ValidateRemoveKeyAsync(string name, string key, CancellationToken cancellationToken);

    /// <summary>Sets the given limits (null: no limit) and leaves the others.</summary>
    Task<VmUser> SetQuotaAsync(string name, IReadOnlyDictionary<VmQuotaLimit, int?> limits, CancellationToken cancellationToken);

    /// <summary>The user, once the limits are found valid.</summary>
    Task<VmUser> ValidateSetQuotaAsync(string name, IReadOnlyDictionary<VmQuotaLimit, int?> limits, CancellationToken cancellationToken);

    /// <summary>A new random access token for the user; only its hash is kept, so this is the one time it is seen.</summary>
    Task<VmUserToken> NewTokenAsync(string name, CancellationToken cancellationToken);

    Task<VmAccessGrant> GrantAccessAsync(string vmName, string userName, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="GrantAccessAsync"/> (the VM, the user, not its owner) short of storing the grant.</summary>
    Task<VmAccessGrant> ValidateGrantAccessAsync(string vmName, string userName, CancellationToken cancellationToken);

    Task RevokeAccessAsync(string vmName, string userName, CancellationToken cancellationToken);

    Task ValidateRevokeAccessAsync(string vmName, string userName, CancellationToken cancellationToken);

    /// <summary>The user a token belongs to, or null (a malformed token included).</summary>
    Task<VmUser?> AuthenticateTokenAsync(string token, CancellationToken cancellationToken);

    /// <summary>The user one of whose keys has this fingerprint (SHA256:...), or null.</summary>
    Task<VmUser?> FindByKeyAsync(string fingerprint, CancellationToken cancellationToken);

    /// <summary>The user with this id, or null (the SSH gateway names users by id in its forced commands).</summary>
    Task<VmUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Whether the user owns the VM or it was shared with them.</summary>
    Task<bool> CanAccessAsync(VmUser user, string vmName, CancellationToken cancellationToken);
}
