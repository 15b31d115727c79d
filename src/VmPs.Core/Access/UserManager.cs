using System.Security.Cryptography;
using System.Text;
using VmPs.Core.State;

namespace VmPs.Core.Access;

/// <summary>Users, their keys, tokens, quotas and VM grants, validated here and stored by <see cref="UserStore"/>.</summary>
public sealed class UserManager : IUserManager
{
    /// <summary>Every token starts with this, so a leaked one is recognisable (secret scanners, logs).</summary>
    public const string TokenPrefix = "vmps_";

    private const int TokenBytes = 32;

    private readonly UserStore store;
    private readonly Func<CancellationToken, Task> namesChanged;

    /// <param name="namesChanged">Called once a user was made, renamed or removed: the SSH gateway's accounts follow users' names.</param>
    internal UserManager(StateDatabase database, Func<CancellationToken, Task>? namesChanged = null)
    {
        store = new UserStore(database);
        this.namesChanged = namesChanged ?? (_ => Task.CompletedTask);
    }

    public async Task<VmUser> CreateAsync(VmUserCreateOptions options, CancellationToken cancellationToken)
    {
        await store.InsertAsync(options.Name, options.Email, CheckCreate(options), apply: true, cancellationToken).ConfigureAwait(false);
        await namesChanged(cancellationToken).ConfigureAwait(false);
        return await GetAsync(options.Name, cancellationToken).ConfigureAwait(false);
    }

    public Task ValidateCreateAsync(VmUserCreateOptions options, CancellationToken cancellationToken) =>
        store.InsertAsync(options.Name, options.Email, CheckCreate(options), apply: false, cancellationToken);

    public Task<IReadOnlyList<VmUser>> GetAllAsync(CancellationToken cancellationToken) => store.GetAllAsync(cancellationToken);

    public async Task<VmUser> GetAsync(string name, CancellationToken cancellationToken) =>
        await store.FindAsync(name, cancellationToken).ConfigureAwait(false) ?? throw UserErrors.NotFound(name);

    public async Task<VmUser> SetAsync(string name, VmUserSetOptions options, CancellationToken cancellationToken)
    {
        CheckSet(options);
        await store.UpdateAsync(name, options, apply: true, cancellationToken).ConfigureAwait(false);
        if (options.NewName is not null)
        {
            await namesChanged(cancellationToken).ConfigureAwait(false);
        }

        return await GetAsync(options.NewName ?? name, cancellationToken).ConfigureAwait(false);
    }

    public Task ValidateSetAsync(string name, VmUserSetOptions options, CancellationToken cancellationToken)
    {
        CheckSet(options);
        return store.UpdateAsync(name, options, apply: false, cancellationToken);
    }

    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        await store.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
        await namesChanged(cancellationToken).ConfigureAwait(false);
    }

    public async Task<VmUserKey> AddKeyAsync(string name, string publicKey, CancellationToken cancellationToken)
    {
        var key = SshPublicKey.Parse(publicKey);
        await store.AddKeyAsync(name, key, cancellationToken).ConfigureAwait(false);
        return (await GetAsync(name, cancellationToken).ConfigureAwait(false)).SshKeys.Single(added => added.Fingerprint == key.Fingerprint);
    }

    public Task RemoveKeyAsync(string name, string key, CancellationToken cancellationToken) =>
        store.RemoveKeyAsync(name, FingerprintOf(key), apply: true, cancellationToken);

    public async Task<string> ValidateRemoveKeyAsync(string name, string key, CancellationToken cancellationToken)
    {
        var fingerprint = FingerprintOf(key);
        await store.RemoveKeyAsync(name, fingerprint, apply: false, cancellationToken).ConfigureAwait(false);
        return fingerprint;
    }

    public async Task<VmUser> SetQuotaAsync(string name, IReadOnlyDictionary<VmQuotaLimit, int?> limits, CancellationToken cancellationToken)
    {
        CheckQuota(limits);
        await store.SetQuotaAsync(name, limits, cancellationToken).ConfigureAwait(false);
        return await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VmUser> ValidateSetQuotaAsync(string name, IReadOnlyDictionary<VmQuotaLimit, int?> limits, CancellationToken cancellationToken)
    {
        CheckQuota(limits);
        return await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VmUserToken> NewTokenAsync(string name, CancellationToken cancellationToken)
    {
        var token = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(TokenBytes));
        var id = Guid.NewGuid();
        var createdAt = DateTimeOffset.UtcNow;
        await store.AddTokenAsync(name, id, HashToken(token), createdAt, cancellationToken).ConfigureAwait(false);
        var user = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return new VmUserToken(id, user.Name, token, createdAt);
    }

    public Task<VmAccessGrant> GrantAccessAsync(string vmName, string userName, CancellationToken cancellationToken) =>
        store.GrantAsync(vmName, userName, apply: true, cancellationToken);

    public Task<VmAccessGrant> ValidateGrantAccessAsync(string vmName, string userName, CancellationToken cancellationToken) =>
        store.GrantAsync(vmName, userName, apply: false, cancellationToken);

    public Task RevokeAccessAsync(string vmName, string userName, CancellationToken cancellationToken) =>
        store.RevokeAsync(vmName, userName, apply: true, cancellationToken);

    public Task ValidateRevokeAccessAsync(string vmName, string userName, CancellationToken cancellationToken) =>
        store.RevokeAsync(vmName, userName, apply: false, cancellationToken);

    public async Task<VmUser?> AuthenticateTokenAsync(string token, CancellationToken cancellationToken) =>
        token is { Length: > 0 and <= 128 } && token.StartsWith(TokenPrefix, StringComparison.Ordinal)
            ? await store.FindByTokenHashAsync(HashToken(token), cancellationToken).ConfigureAwait(false)
            : null;

    public Task<VmUser?> FindByKeyAsync(string fingerprint, CancellationToken cancellationToken) => store.FindByKeyAsync(fingerprint, cancellationToken);

    public Task<VmUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken) => store.FindByIdAsync(id, cancellationToken);

    public Task<bool> CanAccessAsync(VmUser user, string vmName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return store.CanAccessAsync(user.Id, vmName, cancellationToken);
    }

    /// <summary>
    /// SHA-256, not a slow password hash: a token is 256 random bits, so there is no guessable secret for a slow hash to
    /// protect, and a lookup by hash must stay cheap because the ingress checks a token on every request.
    /// </summary>
    internal static string HashToken(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static List<SshPublicKey> CheckCreate(VmUserCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        UserValidation.ValidateName(options.Name);
        UserValidation.ValidateEmail(options.Email);
        var keys = options.SshPublicKeys.Select(SshPublicKey.Parse).ToList();
        if (keys.GroupBy(key => key.Fingerprint).FirstOrDefault(group => group.Count() > 1) is { } twice)
        {
            throw UserErrors.KeyInUse(twice.Key, options.Name);
        }

        return keys;
    }

    private static void CheckSet(VmUserSetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.NewName is not null)
        {
            UserValidation.ValidateName(options.NewName);
        }

        if (options.Email is not null)
        {
            UserValidation.ValidateEmail(options.Email);
        }
    }

    private static void CheckQuota(IReadOnlyDictionary<VmQuotaLimit, int?> limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        foreach (var (limit, value) in limits)
        {
            UserValidation.ValidateQuota(limit, value);
        }
    }

    /// <summary>A key given by its fingerprint (SHA256:...) or as its public key line.</summary>
    private static string FingerprintOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.StartsWith("SHA256:", StringComparison.Ordinal) ? key : SshPublicKey.Parse(key).Fingerprint;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
