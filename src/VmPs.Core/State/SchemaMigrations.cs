using System.Globalization;
using Microsoft.Data.Sqlite;

namespace VmPs.Core.State;

/// <summary>One step of the schema's history. Versions are applied in ascending order, each exactly once.</summary>
internal sealed record SchemaMigration(int Version, string Description, string Sql);

/// <summary>
/// The schema's ordered history. Never edit a shipped migration: append a new one, so every
/// database (fresh or years old) ends at the same schema.
/// </summary>
internal static class SchemaMigrations
{
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "images and vms", """
            CREATE TABLE images (
                id          TEXT PRIMARY KEY,
                name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
                reference   TEXT NOT NULL,
                digest      TEXT NOT NULL,
                platform    TEXT,
                format      TEXT NOT NULL,
                rootfs_path TEXT NOT NULL,
                size_bytes  INTEGER NOT NULL,
                init_mode   TEXT NOT NULL,
                config_json TEXT NOT NULL,
                created_at  TEXT NOT NULL
            );

            CREATE TABLE vms (
                id            TEXT PRIMARY KEY,
                name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
                image_id      TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
                cpus          INTEGER NOT NULL CHECK (cpus >= 1),
                memory_mib    INTEGER NOT NULL CHECK (memory_mib >= 1),
                hypervisor    TEXT NOT NULL,
                kernel_path   TEXT NOT NULL,
                disk_size_gib INTEGER NOT NULL CHECK (disk_size_gib >= 1),
                state         TEXT NOT NULL,
                instance_json TEXT,
                starting_pid  INTEGER,
                starting_pid_start_time INTEGER,
                vsock_cid     INTEGER NOT NULL UNIQUE CHECK (vsock_cid >= 3),
                mac_address   TEXT NOT NULL UNIQUE COLLATE NOCASE,
                created_at    TEXT NOT NULL,
                started_at    TEXT,
                stopped_at    TEXT,
                exit_code     INTEGER,
                status_detail TEXT
            );

            CREATE INDEX vms_image_id ON vms(image_id);
            """),

        // Remove-VmImage -Force while VMs still use the image: the row stays (vms.image_id is a
        // RESTRICT foreign key) as a tombstone under a freed name, its rootfs file is deleted, and
        // those VMs fail to start with ImageRootfsMissing. The next image add or removal drops
        // tombstones no VM uses any more.
        new(2, "removed images kept for the VMs that use them", """
            ALTER TABLE images ADD COLUMN removed_at TEXT;
            """),

        // VM networks: one adapter per VM (keyed by the VM id; the VM side releases it before
        // deleting the vms row), addresses as integers so (network, address) is unique, and
        // published ports unique per protocol and host port.
        new(3, "networks, network adapters and port mappings", """
            CREATE TABLE networks (
                id         TEXT PRIMARY KEY,
                name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
                bridge     TEXT NOT NULL UNIQUE,
                subnet     TEXT NOT NULL,
                gateway    TEXT NOT NULL,
                nat        INTEGER NOT NULL,
                isolated   INTEGER NOT NULL,
                dns        TEXT NOT NULL,
                uplink     TEXT,
                mtu        INTEGER NOT NULL CHECK (mtu >= 68),
                created_at TEXT NOT NULL
            );

            CREATE TABLE network_adapters (
                vm_id              TEXT PRIMARY KEY,
                vm_name            TEXT NOT NULL,
                network_id         TEXT NOT NULL REFERENCES networks(id) ON DELETE RESTRICT,
                tap                TEXT NOT NULL UNIQUE,
                mac_address        TEXT NOT NULL UNIQUE COLLATE NOCASE,
                ip_address         INTEGER NOT NULL,
                max_bandwidth_mbps INTEGER CHECK (max_bandwidth_mbps >= 1),
                plugged            INTEGER NOT NULL DEFAULT 0,
                created_at         TEXT NOT NULL,
                UNIQUE (network_id, ip_address)
            );

            CREATE TABLE port_mappings (
                vm_id        TEXT NOT NULL REFERENCES network_adapters(vm_id) ON DELETE CASCADE,
                protocol     TEXT NOT NULL,
                host_address TEXT,
                host_port    INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
                vm_port      INTEGER NOT NULL CHECK (vm_port BETWEEN 1 AND 65535),
                created_at   TEXT NOT NULL,
                PRIMARY KEY (protocol, host_port)
            );

            CREATE INDEX port_mappings_vm_id ON port_mappings(vm_id);
            """),
        new(4, "per-VM init mode override (New-Vm -InitMode)", """
            ALTER TABLE vms ADD COLUMN init_mode TEXT;
            """),

        // Volumes: a row is reserved (state Creating, with the creating session) before its file is
        // built, and a session that dies leaves a row the next volume command removes. Attachments go
        // with their VM (CASCADE) but hold their volume (RESTRICT): no volume file is deleted while a VM
        // row references it. At most one writable attachment per volume (the partial unique index; the
        // attach transaction also refuses read-only next to writable). Copy-VmVolume without reflinks
        // freezes the source into a read-only base that both qcow2 files read from; a base is deleted
        // once no volume and no other base references it (RESTRICT again).
        new(5, "volumes, volume attachments and frozen bases", """
            CREATE TABLE volume_bases (
                path         TEXT PRIMARY KEY,
                disk_format  TEXT NOT NULL,
                backing_path TEXT REFERENCES volume_bases(path) ON DELETE RESTRICT,
                created_at   TEXT NOT NULL
            );

            CREATE TABLE volumes (
                id                 TEXT PRIMARY KEY,
                name               TEXT NOT NULL UNIQUE COLLATE NOCASE,
                format             TEXT NOT NULL,
                disk_format        TEXT NOT NULL,
                size_bytes         INTEGER NOT NULL CHECK (size_bytes > 0),
                path               TEXT NOT NULL UNIQUE,
                backing_path       TEXT REFERENCES volume_bases(path) ON DELETE RESTRICT,
                state              TEXT NOT NULL,
                session_pid        INTEGER,
                session_start_time INTEGER,
                created_at         TEXT NOT NULL
            );

            CREATE TABLE volume_attachments (
                volume_id  TEXT NOT NULL REFERENCES volumes(id) ON DELETE RESTRICT,
                vm_id      TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
                path       TEXT NOT NULL,
                read_only  INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (volume_id, vm_id),
                UNIQUE (vm_id, path)
            );

            CREATE UNIQUE INDEX volume_attachments_one_writer ON volume_attachments(volume_id) WHERE read_only = 0;
            CREATE INDEX volume_attachments_vm_id ON volume_attachments(vm_id);
            """),

        // The session that holds a VM in Starting or Stopping (not only Starting): a later read that finds it dead
        // settles the VM (kills the hypervisor it may have left, unplugs the TAP). Named as the volumes' columns.
        new(6, "the session owning a VM's Starting or Stopping", """
            ALTER TABLE vms RENAME COLUMN starting_pid TO session_pid;
            ALTER TABLE vms RENAME COLUMN starting_pid_start_time TO session_start_time;
            """),

        // The access layer. Users own VMs, volumes and images (owner_id NULL: the host's administrator, root in
        // pwsh); an owner cannot be removed while it owns something (RESTRICT), its keys, tokens and grants go
        // with it. Quotas are NULL for no limit. An SSH key (by its SHA256 fingerprint) and a token hash each
        // name one user. Tokens are stored only as hashes. Ingress routes go with their VM; host_settings holds
        // the host-wide access settings (ingress domain, ACME directory and e-mail, gateway ports) by name.
        new(7, "users, quotas, keys, tokens, ownership, VM access grants, ingress routes and host settings", """
            CREATE TABLE users (
                id             TEXT PRIMARY KEY,
                name           TEXT NOT NULL UNIQUE COLLATE NOCASE,
                email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
                max_vms        INTEGER CHECK (max_vms >= 0),
                max_cpus       INTEGER CHECK (max_cpus >= 0),
                max_memory_mib INTEGER CHECK (max_memory_mib >= 0),
                max_disk_gib   INTEGER CHECK (max_disk_gib >= 0),
                created_at     TEXT NOT NULL
            );

            CREATE TABLE user_keys (
                fingerprint TEXT PRIMARY KEY,
                user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                key_type    TEXT NOT NULL,
                key_data    TEXT NOT NULL,
                comment     TEXT,
                created_at  TEXT NOT NULL
            );

            CREATE INDEX user_keys_user_id ON user_keys(user_id);

            CREATE TABLE user_tokens (
                id         TEXT PRIMARY KEY,
                user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                token_hash TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            );

            CREATE INDEX user_tokens_user_id ON user_tokens(user_id);

            ALTER TABLE vms ADD COLUMN owner_id TEXT REFERENCES users(id) ON DELETE RESTRICT;
            ALTER TABLE volumes ADD COLUMN owner_id TEXT REFERENCES users(id) ON DELETE RESTRICT;
            ALTER TABLE images ADD COLUMN owner_id TEXT REFERENCES users(id) ON DELETE RESTRICT;
            CREATE INDEX vms_owner_id ON vms(owner_id);
            CREATE INDEX volumes_owner_id ON volumes(owner_id);
            CREATE INDEX images_owner_id ON images(owner_id);

            CREATE TABLE vm_access (
                vm_id      TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
                user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at TEXT NOT NULL,
                PRIMARY KEY (vm_id, user_id)
            );

            CREATE INDEX vm_access_user_id ON vm_access(user_id);

            CREATE TABLE ingress_routes (
                hostname   TEXT PRIMARY KEY COLLATE NOCASE,
                vm_id      TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
                port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
                tls        TEXT NOT NULL,
                public     INTEGER NOT NULL,
                created_at TEXT NOT NULL
            );

            CREATE INDEX ingress_routes_vm_id ON ingress_routes(vm_id);

            CREATE TABLE host_settings (
                name  TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            """),

        // The VM's own disk may be qcow2 (New-Vm -DiskFormat); existing overlays are raw. A QEMU VM may run on
        // another machine than the driver's default (New-Vm -MachineType Q35: PCIe hot-plug); null is the default.
        // Host directory shares (New-Vm -Share) go with their VM; the tag names the virtio-fs device in the guest.
        new(8, "overlay disk format, machine type and host directory shares", """
            ALTER TABLE vms ADD COLUMN disk_format TEXT NOT NULL DEFAULT 'Raw';
            ALTER TABLE vms ADD COLUMN machine_type TEXT;

            CREATE TABLE vm_shares (
                vm_id      TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
                tag        TEXT NOT NULL,
                host_path  TEXT NOT NULL,
                guest_path TEXT NOT NULL,
                read_only  INTEGER NOT NULL,
                PRIMARY KEY (vm_id, tag),
                UNIQUE (vm_id, guest_path)
            );
            """),

        // Full VMs. An image is either an OCI-derived root booted directly (kind Oci, the existing rows) or a disk
        // with its own bootloader (kind Disk: a cloud image or a VM's disk), booted through firmware (Uefi or Bios;
        // null for Oci) and as large as virtual_size_bytes. A VM may carry an installer ISO (New-Vm -IsoPath) and
        // its instance metadata service's token rule (Set-Vm -MetadataOptions: Optional allows IMDSv1, Required
        // only v2 as on EC2).
        new(9, "disk images with their firmware and virtual size, VM installer ISOs and metadata token rules", """
            ALTER TABLE images ADD COLUMN kind TEXT NOT NULL DEFAULT 'Oci';
            ALTER TABLE images ADD COLUMN firmware TEXT;
            ALTER TABLE images ADD COLUMN virtual_size_bytes INTEGER CHECK (virtual_size_bytes > 0);
            ALTER TABLE vms ADD COLUMN iso_path TEXT;
            ALTER TABLE vms ADD COLUMN metadata_http_tokens TEXT NOT NULL DEFAULT 'Optional';
            """),

        // The file the VM's own disk is written to, by name in its directory: a copy-on-write checkpoint gives the VM a
        // new qcow2 file over its current one under a fresh name (a running hypervisor holds its files by name, so
        // none is ever renamed). Null is the file New-Vm made (overlay.ext4 or overlay.qcow2, by disk_format).
        new(10, "the file of a VM's own disk", """
            ALTER TABLE vms ADD COLUMN disk_file TEXT
                CHECK (disk_file IS NULL OR (length(disk_file) BETWEEN 1 AND 128 AND instr(disk_file, '/') = 0 AND disk_file NOT IN ('.', '..')));
            """),

        // Get-Vm's IdleTime: when the host last saw the VM used (an exec, a file operation, or its network packet count
        // found changed), and that packet count (its TAP's received plus sent packets) as last observed, so a later
        // session tells whether packets passed since. Null: nothing seen since the row was made.
        new(11, "the VM's last activity and network packet count", """
            ALTER TABLE vms ADD COLUMN last_activity_at TEXT;
            ALTER TABLE vms ADD COLUMN network_packets INTEGER CHECK (network_packets IS NULL OR network_packets >= 0);
            """),

        // A volume made on the LvmThin storage backend (Set-VmHost -StorageBackend LvmThin) is a thin volume of this
        // pool, "VG/POOL" as it was when the volume was made, and its path is the device /dev/VG/vmps-volume-ID; null is
        // a file under the state directory (every earlier row). The host's choice itself is in host_settings.
        new(12, "the thin pool of a volume on LVM", """
            ALTER TABLE volumes ADD COLUMN thin_pool TEXT CHECK (thin_pool IS NULL OR instr(thin_pool, '/') > 1);
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>
    /// Brings the schema up to date inside the caller's write transaction, so concurrent sessions
    /// migrate one after the other and the second finds nothing left to do.
    /// </summary>
    public static Task ApplyAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken) =>
        ApplyAsync(connection, transaction, All, cancellationToken);

    public static async Task ApplyAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        IReadOnlyList<SchemaMigration> migrations,
        CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version     INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            );
            """,
            cancellationToken,
            transaction).ConfigureAwait(false);

        var current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var latest = migrations.Count == 0 ? 0 : migrations.Max(m => m.Version);
        if (current > latest)
        {
            throw new VmPsException(
                VmPsErrorIds.StateSchemaTooNew,
                VmPsErrorKind.InvalidData,
                $"The state database is at schema version {current}, but this VmPs knows versions up to {latest}. It was written by a newer VmPs.",
                connection.DataSource)
            {
                RecommendedAction = "Use the newer VmPs version, or point VMPS_HOME at another directory.",
            };
        }

        foreach (var migration in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
        {
            await connection.ExecuteAsync(migration.Sql, cancellationToken, transaction).ConfigureAwait(false);
            await connection.Command("INSERT INTO schema_version (version, description, applied_at) VALUES ($v, $d, $t)", transaction)
                .With("$v", migration.Version)
                .With("$d", migration.Description)
                .With("$t", DateTimeOffset.UtcNow.ToStored())
                .RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task<int> CurrentVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        var value = await connection.Command("SELECT MAX(version) FROM schema_version", transaction)
            .ScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null ? 0 : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }
}
