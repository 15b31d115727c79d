using Microsoft.Data.Sqlite;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Access;

/// <summary>The users table and what hangs off it: SSH keys, token hashes, VM access grants, quotas and their use.</summary>
internal sealed class UserStore
{
    private readonly StateDatabase database;

    public UserStore(StateDatabase database)
    {
        this.database = database;
    }

    /// <summary>Stores a new user with its keys; with <paramref name="apply"/> false, only checks that it could (New-VmUser -WhatIf).</summary>
    public Task InsertAsync(string name, string email, IReadOnlyList<SshPublicKey> keys, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                if (await FindAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    throw UserErrors.NameInUse(existing.Name);
                }

                await EnsureEmailFreeAsync(connection, transaction, email, null, cancellationToken).ConfigureAwait(false);
                foreach (var key in keys)
                {
                    await EnsureKeyFreeAsync(connection, transaction, key, cancellationToken).ConfigureAwait(false);
                }

                if (!apply)
                {
                    return;
                }

                var id = Guid.NewGuid();
                await connection.Command("INSERT INTO users (id, name, email, created_at) VALUES ($id, $name, $email, $created)", transaction)
                    .With("$id", id.ToString())
                    .With("$name", name)
                    .With("$email", email)
                    .With("$created", DateTimeOffset.UtcNow.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                foreach (var key in keys)
                {
                    await InsertKeyAsync(connection, transaction, id, key, cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken);

    public async Task<IReadOnlyList<VmUser>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.Command("SELECT * FROM users ORDER BY name COLLATE NOCASE").ListAsync(ReadRow, cancellationToken).ConfigureAwait(false);
        var users = new List<VmUser>(rows.Count);
        foreach (var row in rows)
        {
            users.Add(await ToUserAsync(connection, row, cancellationToken).ConfigureAwait(false));
        }

        return users;
    }

    /// <summary>The user with this name (case-insensitive), or null.</summary>
    public async Task<VmUser?> FindAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await FindAsync(connection, null, name, cancellationToken).ConfigureAwait(false) is { } row
            ? await ToUserAsync(connection, row, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>The user one of whose keys has this fingerprint, or null.</summary>
    public Task<VmUser?> FindByKeyAsync(string fingerprint, CancellationToken cancellationToken) =>
        FindByAsync("SELECT u.* FROM users u JOIN user_keys k ON k.user_id = u.id WHERE k.fingerprint = $key", fingerprint, cancellationToken);

    public Task<VmUser?> FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        FindByAsync("SELECT * FROM users WHERE id = $key", id.ToString(), cancellationToken);

    /// <summary>The user holding a token with this hash, or null.</summary>
    public Task<VmUser?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        FindByAsync("SELECT u.* FROM users u JOIN user_tokens t ON t.user_id = u.id WHERE t.token_hash = $key", tokenHash, cancellationToken);

    /// <summary>Renames the user or changes its e-mail; with <paramref name="apply"/> false, only checks that it could.</summary>
    public Task UpdateAsync(string name, VmUserSetOptions options, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                if (options.NewName is { } newName && !string.Equals(newName, user.Name, StringComparison.OrdinalIgnoreCase)
                    && await FindAsync(connection, transaction, newName, cancellationToken).ConfigureAwait(false) is { } other)
                {
                    throw UserErrors.NameInUse(other.Name);
                }

                if (options.Email is { } email)
                {
                    await EnsureEmailFreeAsync(connection, transaction, email, user.Id, cancellationToken).ConfigureAwait(false);
                }

                if (!apply)
                {
                    return;
                }

                await connection.Command("UPDATE users SET name = $name, email = $email WHERE id = $id", transaction)
                    .With("$id", user.Id.ToString())
                    .With("$name", options.NewName ?? user.Name)
                    .With("$email", options.Email ?? user.Email)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Deletes the user with its keys, tokens and grants; refused while it owns a VM, volume or image.</summary>
    public Task DeleteAsync(string name, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                var owned = new List<string>();
                foreach (var (table, noun) in new[] { ("vms", "VM"), ("volumes", "volume"), ("images", "image") })
                {
                    var names = await connection.Command($"SELECT name FROM {table} WHERE owner_id = $id ORDER BY name", transaction)
                        .With("$id", user.Id.ToString())
                        .ListAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
                    owned.AddRange(names.Select(owned => $"{noun} '{owned}'"));
                }

                if (owned.Count > 0)
                {
                    throw UserErrors.OwnsResources(user.Name, owned);
                }

                await connection.Command("DELETE FROM users WHERE id = $id", transaction).With("$id", user.Id.ToString()).RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    public Task AddKeyAsync(string name, SshPublicKey key, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                await InsertKeyAsync(connection, transaction, user.Id, key, cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Removes the user's key; with <paramref name="apply"/> false, only checks that the user has it.</summary>
    public Task RemoveKeyAsync(string name, string fingerprint, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                var command = connection.Command(DeleteOrFind(apply) + " FROM user_keys WHERE user_id = $id AND fingerprint = $fingerprint", transaction)
                    .With("$id", user.Id.ToString())
                    .With("$fingerprint", fingerprint);
                if (!await DeleteOrFindAsync(command, apply, cancellationToken).ConfigureAwait(false))
                {
                    throw UserErrors.KeyNotFound(user.Name, fingerprint);
                }
            },
            cancellationToken);

    public Task SetQuotaAsync(string name, IReadOnlyDictionary<VmQuotaLimit, int?> limits, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                foreach (var (limit, value) in limits)
                {
                    await connection.Command($"UPDATE users SET {Column(limit)} = $value WHERE id = $id", transaction)
                        .With("$id", user.Id.ToString())
                        .With("$value", value)
                        .RunAsync(cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken);

    public Task AddTokenAsync(string name, Guid tokenId, string tokenHash, DateTimeOffset createdAt, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var user = await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
                await connection.Command("INSERT INTO user_tokens (id, user_id, token_hash, created_at) VALUES ($id, $user, $hash, $created)", transaction)
                    .With("$id", tokenId.ToString())
                    .With("$user", user.Id.ToString())
                    .With("$hash", tokenHash)
                    .With("$created", createdAt.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>
    /// Shares the VM with the user; its owner is refused, a grant that exists is kept. With <paramref name="apply"/>
    /// false, only checks that it could.
    /// </summary>
    public Task<VmAccessGrant> GrantAsync(string vmName, string userName, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var (vmId, vm, ownerId) = await RequireVmAsync(connection, transaction, vmName, cancellationToken).ConfigureAwait(false);
                var user = await RequireAsync(connection, transaction, userName, cancellationToken).ConfigureAwait(false);
                if (ownerId == user.Id.ToString())
                {
                    throw UserErrors.GrantToOwner(vm, user.Name);
                }

                var now = DateTimeOffset.UtcNow;
                if (!apply)
                {
                    return new VmAccessGrant(vm, user.Name, now);
                }

                await connection.Command("INSERT OR IGNORE INTO vm_access (vm_id, user_id, created_at) VALUES ($vm, $user, $created)", transaction)
                    .With("$vm", vmId)
                    .With("$user", user.Id.ToString())
                    .With("$created", now.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return new VmAccessGrant(vm, user.Name, now);
            },
            cancellationToken);

    /// <summary>Takes back a grant; with <paramref name="apply"/> false, only checks that there is one.</summary>
    public Task RevokeAsync(string vmName, string userName, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var (vmId, vm, _) = await RequireVmAsync(connection, transaction, vmName, cancellationToken).ConfigureAwait(false);
                var user = await RequireAsync(connection, transaction, userName, cancellationToken).ConfigureAwait(false);
                var command = connection.Command(DeleteOrFind(apply) + " FROM vm_access WHERE vm_id = $vm AND user_id = $user", transaction)
                    .With("$vm", vmId)
                    .With("$user", user.Id.ToString());
                if (!await DeleteOrFindAsync(command, apply, cancellationToken).ConfigureAwait(false))
                {
                    throw UserErrors.GrantNotFound(vm, user.Name);
                }
            },
            cancellationToken);

    /// <summary>Whether the user owns the VM or it was shared with them.</summary>
    public async Task<bool> CanAccessAsync(Guid userId, string vmName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command(
                """
                SELECT 1 FROM vms v WHERE v.name = $vm COLLATE NOCASE
                AND (v.owner_id = $user OR EXISTS (SELECT 1 FROM vm_access a WHERE a.vm_id = v.id AND a.user_id = $user))
                """)
            .With("$vm", vmName)
            .With("$user", userId.ToString())
            .ScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>The id of the named user, for an owner_id column; UserNotFound otherwise.</summary>
    public static async Task<string> ResolveOwnerIdAsync(SqliteConnection connection, SqliteTransaction transaction, string name, CancellationToken cancellationToken) =>
        (await RequireAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false)).Id.ToString();

    public static async Task<(string Name, VmQuota Quota)> ReadQuotaAsync(SqliteConnection connection, SqliteTransaction transaction, string userId, CancellationToken cancellationToken)
    {
        var row = (await connection.Command("SELECT * FROM users WHERE id = $id", transaction).With("$id", userId)
            .ListAsync(ReadRow, cancellationToken).ConfigureAwait(false)).Single();
        return (row.Name, row.Quota);
    }

    public static async Task<VmQuotaUsage> ReadUsageAsync(SqliteConnection connection, SqliteTransaction? transaction, string userId, CancellationToken cancellationToken) =>
        (await connection.Command(
                $"""
                SELECT (SELECT COUNT(*) FROM vms WHERE owner_id = $id),
                       (SELECT COALESCE(SUM(cpus), 0) FROM vms WHERE owner_id = $id AND state IN {QuotaEnforcement.RunningStates}),
                       (SELECT COALESCE(SUM(memory_mib), 0) FROM vms WHERE owner_id = $id AND state IN {QuotaEnforcement.RunningStates}),
                       (SELECT COALESCE(SUM(disk_size_gib), 0) FROM vms WHERE owner_id = $id) * 1073741824
                         + (SELECT COALESCE(SUM(size_bytes), 0) FROM volumes WHERE owner_id = $id)
                """,
                transaction)
            .With("$id", userId)
            .ListAsync(reader => new VmQuotaUsage(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3)), cancellationToken)
            .ConfigureAwait(false)).Single();

    private async Task<VmUser?> FindByAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command(sql).With("$key", key).ListAsync(ReadRow, cancellationToken).ConfigureAwait(false)).SingleOrDefault() is { } row
            ? await ToUserAsync(connection, row, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private static async Task<UserRow?> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, string name, CancellationToken cancellationToken) =>
        (await connection.Command("SELECT * FROM users WHERE name = $name COLLATE NOCASE", transaction).With("$name", name)
            .ListAsync(ReadRow, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private static async Task<UserRow> RequireAsync(SqliteConnection connection, SqliteTransaction? transaction, string name, CancellationToken cancellationToken) =>
        await FindAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false) ?? throw UserErrors.NotFound(name);

    private static async Task<(string Id, string Name, string? OwnerId)> RequireVmAsync(SqliteConnection connection, SqliteTransaction transaction, string name, CancellationToken cancellationToken) =>
        (await connection.Command("SELECT id, name, owner_id FROM vms WHERE name = $name COLLATE NOCASE", transaction).With("$name", name)
            .ListAsync(reader => (reader.GetString(0), reader.GetString(1), reader.GetNullableString("owner_id")), cancellationToken).ConfigureAwait(false))
        .Cast<(string, string, string?)?>().SingleOrDefault() ?? throw VmErrors.NotFound(name);

    private static async Task EnsureEmailFreeAsync(SqliteConnection connection, SqliteTransaction transaction, string email, Guid? except, CancellationToken cancellationToken)
    {
        var owner = await connection.Command("SELECT name FROM users WHERE email = $email COLLATE NOCASE AND id IS NOT $except", transaction)
            .With("$email", email)
            .With("$except", except?.ToString())
            .ScalarAsync(cancellationToken).ConfigureAwait(false);
        if (owner is string name)
        {
            throw UserErrors.EmailInUse(email, name);
        }
    }

    private static async Task InsertKeyAsync(SqliteConnection connection, SqliteTransaction transaction, Guid userId, SshPublicKey key, CancellationToken cancellationToken)
    {
        await EnsureKeyFreeAsync(connection, transaction, key, cancellationToken).ConfigureAwait(false);
        await connection.Command(
                "INSERT INTO user_keys (fingerprint, user_id, key_type, key_data, comment, created_at) VALUES ($fingerprint, $user, $type, $data, $comment, $created)",
                transaction)
            .With("$fingerprint", key.Fingerprint)
            .With("$user", userId.ToString())
            .With("$type", key.Type)
            .With("$data", key.KeyData)
            .With("$comment", key.Comment)
            .With("$created", DateTimeOffset.UtcNow.ToStored())
            .RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task EnsureKeyFreeAsync(SqliteConnection connection, SqliteTransaction transaction, SshPublicKey key, CancellationToken cancellationToken)
    {
        var owner = await connection.Command("SELECT u.name FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.fingerprint = $fingerprint", transaction)
            .With("$fingerprint", key.Fingerprint)
            .ScalarAsync(cancellationToken).ConfigureAwait(false);
        if (owner is string name)
        {
            throw UserErrors.KeyInUse(key.Fingerprint, name);
        }
    }

    private static async Task<VmUser> ToUserAsync(SqliteConnection connection, UserRow row, CancellationToken cancellationToken)
    {
        var id = row.Id.ToString();
        var keys = await connection.Command("SELECT * FROM user_keys WHERE user_id = $id ORDER BY created_at, fingerprint").With("$id", id)
            .ListAsync(
                reader => new VmUserKey(
                    row.Name,
                    reader.GetString(reader.GetOrdinal("fingerprint")),
                    reader.GetString(reader.GetOrdinal("key_type")),
                    reader.GetString(reader.GetOrdinal("key_data")),
                    reader.GetNullableString("comment"),
                    SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at")))),
                cancellationToken).ConfigureAwait(false);
        var shared = await connection.Command("SELECT v.name FROM vm_access a JOIN vms v ON v.id = a.vm_id WHERE a.user_id = $id ORDER BY v.name COLLATE NOCASE")
            .With("$id", id)
            .ListAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
        var tokens = await connection.Command("SELECT COUNT(*) FROM user_tokens WHERE user_id = $id").With("$id", id).ScalarAsync(cancellationToken).ConfigureAwait(false);
        return new VmUser
        {
            Id = row.Id,
            Name = row.Name,
            Email = row.Email,
            Quota = row.Quota,
            Usage = await ReadUsageAsync(connection, null, id, cancellationToken).ConfigureAwait(false),
            SshKeys = keys,
            SharedVms = shared,
            TokenCount = Convert.ToInt32(tokens, System.Globalization.CultureInfo.InvariantCulture),
            CreatedAt = row.CreatedAt,
        };
    }

    private static string DeleteOrFind(bool apply) => apply ? "DELETE" : "SELECT 1";

    /// <summary>Whether the row was there: deleted when <paramref name="apply"/>, only looked for otherwise (-WhatIf).</summary>
    private static async Task<bool> DeleteOrFindAsync(SqliteCommand command, bool apply, CancellationToken cancellationToken) =>
        apply
            ? await command.RunAsync(cancellationToken).ConfigureAwait(false) > 0
            : await command.ScalarAsync(cancellationToken).ConfigureAwait(false) is not null;

    private static string Column(VmQuotaLimit limit) => limit switch
    {
        VmQuotaLimit.MaxVms => "max_vms",
        VmQuotaLimit.MaxCpus => "max_cpus",
        VmQuotaLimit.MaxMemoryMiB => "max_memory_mib",
        _ => "max_disk_gib",
    };

    private static UserRow ReadRow(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(reader.GetOrdinal("id"))),
        reader.GetString(reader.GetOrdinal("name")),
        reader.GetString(reader.GetOrdinal("email")),
        new VmQuota(
            (int?)reader.GetNullableInt64("max_vms"),
            (int?)reader.GetNullableInt64("max_cpus"),
            (int?)reader.GetNullableInt64("max_memory_mib"),
            (int?)reader.GetNullableInt64("max_disk_gib")),
        SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at"))));

    private sealed record UserRow(Guid Id, string Name, string Email, VmQuota Quota, DateTimeOffset CreatedAt);
}
