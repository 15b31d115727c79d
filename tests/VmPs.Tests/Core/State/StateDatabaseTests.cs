using Microsoft.Data.Sqlite;
using VmPs.Core;
using VmPs.Core.State;

namespace VmPs.Tests.Core.State;

public sealed class StateDatabaseTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    [Fact]
    public async Task FreshDatabaseIsMigratedToLatestVersionInWalMode()
    {
        var database = new StateDatabase(home.Paths.StateDatabase);
        await using var connection = await database.OpenAsync(CancellationToken.None);

        Assert.Equal(SchemaMigrations.LatestVersion, await SchemaMigrations.CurrentVersionAsync(connection, null, CancellationToken.None));
        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode"));
        Assert.Equal(30000L, await ScalarAsync(connection, "PRAGMA busy_timeout"));
        var tables = await connection.Command("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .ListAsync(r => r.GetString(0), CancellationToken.None);
        Assert.Equal(
            ["host_settings", "images", "ingress_routes", "network_adapters", "networks", "port_mappings", "schema_version", "user_keys", "user_tokens", "users", "vm_access", "vm_shares", "vms", "volume_attachments", "volume_bases", "volumes"],
            tables);
    }

    [Fact]
    public async Task ReopeningFromAnotherInstanceAppliesNothingTwice()
    {
        await using (await new StateDatabase(home.Paths.StateDatabase).OpenAsync(CancellationToken.None))
        {
        }

        await using var connection = await new StateDatabase(home.Paths.StateDatabase).OpenAsync(CancellationToken.None);
        Assert.Equal((long)SchemaMigrations.All.Count, await ScalarAsync(connection, "SELECT COUNT(*) FROM schema_version"));
    }

    [Fact]
    public async Task AStateFileDeletedUnderPooledConnectionsIsRecreatedAndMigratedInsteadOfWrittenToTheDeletedOne()
    {
        var database = new StateDatabase(home.Paths.StateDatabase);
        await using (await database.OpenAsync(CancellationToken.None))
        {
        }

        foreach (var file in Directory.GetFiles(home.Paths.Root, "state.db*"))
        {
            File.Delete(file);
        }

        await using var connection = await database.OpenAsync(CancellationToken.None);

        Assert.True(File.Exists(home.Paths.StateDatabase));
        Assert.Equal(SchemaMigrations.LatestVersion, await SchemaMigrations.CurrentVersionAsync(connection, null, CancellationToken.None));
    }

    [Fact]
    public async Task MigrationsRunInVersionOrderAndOnlyOnce()
    {
        await using var connection = await OpenBareAsync();
        SchemaMigration[] first = [new(1, "a", "CREATE TABLE a (x INTEGER)")];
        SchemaMigration[] both = [new(2, "b", "CREATE TABLE b (y INTEGER REFERENCES a(x))"), .. first];

        await ApplyAsync(connection, first);
        await ApplyAsync(connection, both);
        await ApplyAsync(connection, both);

        var applied = await connection.Command("SELECT version FROM schema_version ORDER BY applied_at, version")
            .ListAsync(r => r.GetInt64(0), CancellationToken.None);
        Assert.Equal([1L, 2L], applied);
    }

    [Fact]
    public async Task FailedMigrationLeavesTheSchemaAsItWas()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, [new(1, "a", "CREATE TABLE a (x INTEGER)")]);

        await Assert.ThrowsAsync<SqliteException>(() => ApplyAsync(connection,
        [
            new(1, "a", "CREATE TABLE a (x INTEGER)"),
            new(2, "half", "CREATE TABLE half (z INTEGER); INSERT INTO no_such_table VALUES (1);"),
        ]));

        Assert.Equal(1, await SchemaMigrations.CurrentVersionAsync(connection, null, CancellationToken.None));
        Assert.Null(await ScalarAsync(connection, "SELECT name FROM sqlite_master WHERE name = 'half'"));
    }

    [Fact]
    public async Task DatabaseFromANewerVersionIsRefused()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, [new(1, "a", "SELECT 1"), new(2, "b", "SELECT 1")]);

        var error = await Assert.ThrowsAsync<VmPsException>(() => ApplyAsync(connection, [new(1, "a", "SELECT 1")]));

        Assert.Equal("StateSchemaTooNew", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidData, error.Kind);
    }

    [Fact]
    public async Task UnopenableDatabaseGivesASpecificError()
    {
        Directory.CreateDirectory(home.Paths.StateDatabase);

        var error = await Assert.ThrowsAsync<VmPsException>(() => new StateDatabase(home.Paths.StateDatabase).OpenAsync(CancellationToken.None));

        Assert.Equal("StateDatabaseUnavailable", error.ErrorId);
    }

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task TheStartingSessionOfAVersion5DatabaseBecomesTheVmsSession()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 5).ToList());
        await connection.ExecuteAsync(
            """
            INSERT INTO images (id, name, reference, digest, format, rootfs_path, size_bytes, init_mode, config_json, created_at)
            VALUES ('i', 'busybox', 'busybox', 'sha256:0', 'Erofs', '/x', 1, 'Exec', '{}', 't');
            INSERT INTO vms (id, name, image_id, cpus, memory_mib, hypervisor, kernel_path, disk_size_gib, state,
                             starting_pid, starting_pid_start_time, vsock_cid, mac_address, created_at)
            VALUES ('v', 'vm', 'i', 1, 256, 'Qemu', '/k', 1, 'Starting', 4242, 777, 3, '02:76:6d:00:00:01', 't');
            """,
            CancellationToken.None);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Equal(4242L, await ScalarAsync(connection, "SELECT session_pid FROM vms"));
        Assert.Equal(777L, await ScalarAsync(connection, "SELECT session_start_time FROM vms"));
        // Version 8: an existing VM's overlay is raw, and it runs on its hypervisor's default machine.
        Assert.Equal("Raw", await ScalarAsync(connection, "SELECT disk_format FROM vms"));
        Assert.Null(await ScalarAsync(connection, "SELECT machine_type FROM vms"));
    }

    [Fact]
    public async Task AVersion6VmBelongsToTheAdministratorAndAnOwnerCannotBeRemovedWhileItOwnsOne()
    {
        await using var connection = await OpenBareAsync();
        await connection.ExecuteAsync("PRAGMA foreign_keys = ON;", CancellationToken.None);
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 6).ToList());
        await InsertStoppedVmAsync(connection);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Equal(1L, await ScalarAsync(connection, "SELECT COUNT(*) FROM vms WHERE owner_id IS NULL"));
        await connection.ExecuteAsync(
            """
            INSERT INTO users (id, name, email, created_at) VALUES ('u', 'alice', 'alice@example.test', 't');
            UPDATE vms SET owner_id = 'u';
            INSERT INTO vm_access (vm_id, user_id, created_at) VALUES ('v', 'u', 't');
            """,
            CancellationToken.None);
        await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("DELETE FROM users", CancellationToken.None));
        await connection.ExecuteAsync("DELETE FROM vms", CancellationToken.None);
        Assert.Equal(0L, await ScalarAsync(connection, "SELECT COUNT(*) FROM vm_access"));
    }

    [Fact]
    public async Task AVersion8ImageIsAnOciImageWithoutFirmwareAndItsVmsAllowMetadataV1()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 8).ToList());
        await InsertStoppedVmAsync(connection);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Equal("Oci", await ScalarAsync(connection, "SELECT kind FROM images"));
        Assert.Null(await ScalarAsync(connection, "SELECT firmware FROM images"));
        Assert.Null(await ScalarAsync(connection, "SELECT virtual_size_bytes FROM images"));
        Assert.Null(await ScalarAsync(connection, "SELECT iso_path FROM vms"));
        Assert.Equal("Optional", await ScalarAsync(connection, "SELECT metadata_http_tokens FROM vms"));
        await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("UPDATE images SET virtual_size_bytes = 0", CancellationToken.None));
    }

    [Fact]
    public async Task AVersion9VmWritesTheDiskNewVmMadeAndADiskFileIsABareName()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 9).ToList());
        await InsertStoppedVmAsync(connection);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Null(await ScalarAsync(connection, "SELECT disk_file FROM vms"));
        await connection.ExecuteAsync("UPDATE vms SET disk_file = 'disk-1.qcow2'", CancellationToken.None);
        foreach (var name in new[] { "../x", "/etc/passwd", "..", "", new string('a', 129) })
        {
            await Assert.ThrowsAsync<SqliteException>(() => connection.Command("UPDATE vms SET disk_file = $name").With("$name", name).RunAsync(CancellationToken.None));
        }

        Assert.Equal("disk-1.qcow2", await ScalarAsync(connection, "SELECT disk_file FROM vms"));
    }

    [Fact]
    public async Task AVersion10VmHasSeenNoActivityAndItsPacketCountCannotBeNegative()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 10).ToList());
        await InsertStoppedVmAsync(connection);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Null(await ScalarAsync(connection, "SELECT last_activity_at FROM vms"));
        Assert.Null(await ScalarAsync(connection, "SELECT network_packets FROM vms"));
        await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("UPDATE vms SET network_packets = -1", CancellationToken.None));
        await connection.ExecuteAsync("UPDATE vms SET network_packets = 42", CancellationToken.None);
        Assert.Equal(42L, await ScalarAsync(connection, "SELECT network_packets FROM vms"));
    }

    [Fact]
    public async Task AVersion11VolumeIsAFileAndAThinPoolNamesItsVolumeGroup()
    {
        await using var connection = await OpenBareAsync();
        await ApplyAsync(connection, SchemaMigrations.All.Where(migration => migration.Version <= 11).ToList());
        await connection.ExecuteAsync(
            """
            INSERT INTO volumes (id, name, format, disk_format, size_bytes, path, state, created_at)
            VALUES ('f', 'data', 'Ext4', 'Raw', 16777216, '/s/volumes/f.img', 'Ready', 't');
            """,
            CancellationToken.None);

        await ApplyAsync(connection, SchemaMigrations.All);

        Assert.Null(await ScalarAsync(connection, "SELECT thin_pool FROM volumes"));
        foreach (var pool in new[] { "pool", "/pool" })
        {
            await Assert.ThrowsAsync<SqliteException>(() => connection.Command("UPDATE volumes SET thin_pool = $pool").With("$pool", pool).RunAsync(CancellationToken.None));
        }

        await connection.ExecuteAsync("UPDATE volumes SET thin_pool = 'vg0/pool'", CancellationToken.None);
        Assert.Equal("vg0/pool", await ScalarAsync(connection, "SELECT thin_pool FROM volumes"));
    }

    private async Task<SqliteConnection> OpenBareAsync()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(home.Paths.Root, "bare.db")};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>One image and one Stopped VM on it, in the columns every schema version since 6 has.</summary>
    private static Task InsertStoppedVmAsync(SqliteConnection connection) =>
        connection.ExecuteAsync(
            """
            INSERT INTO images (id, name, reference, digest, format, rootfs_path, size_bytes, init_mode, config_json, created_at)
            VALUES ('i', 'busybox', 'busybox', 'sha256:0', 'Erofs', '/x', 1, 'Exec', '{}', 't');
            INSERT INTO vms (id, name, image_id, cpus, memory_mib, hypervisor, kernel_path, disk_size_gib, state,
                             vsock_cid, mac_address, created_at)
            VALUES ('v', 'vm', 'i', 1, 256, 'Qemu', '/k', 1, 'Stopped', 3, '02:76:6d:00:00:01', 't');
            """,
            CancellationToken.None);

    private static async Task ApplyAsync(SqliteConnection connection, IReadOnlyList<SchemaMigration> migrations)
    {
        await using var transaction = connection.BeginTransaction(deferred: false);
        await SchemaMigrations.ApplyAsync(connection, transaction, migrations, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static Task<object?> ScalarAsync(SqliteConnection connection, string sql) =>
        connection.Command(sql).ScalarAsync(CancellationToken.None);
}
