using VmPs.Core.Access;
using Microsoft.Data.Sqlite;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Protocol.Config;

namespace VmPs.Core.Volumes;

/// <summary>Where a volume row is in its life.</summary>
internal enum VolumeState
{
    /// <summary>Reserved; its file is being built by <see cref="VolumeRecord.Session"/>.</summary>
    Creating,
    Ready,

    /// <summary>Ready, but Copy-VmVolume is reading it (and may freeze it into a base): no VM may start with it.</summary>
    Copying,

    /// <summary>Ready, but Resize-VmVolume is growing it: no VM may start with it.</summary>
    Resizing,

    /// <summary>
    /// Remove-VmVolume is deleting its file or thin volume; the row goes after that, and a failed deletion gives the
    /// volume back (Ready). Nothing may attach it meanwhile.
    /// </summary>
    Removing,
}

/// <summary>One row of the volumes table.</summary>
internal sealed record VolumeRecord
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required VolumeFormat Format { get; init; }

    public required DiskImageFormat DiskFormat { get; init; }

    public required long SizeBytes { get; init; }

    public required string Path { get; init; }

    public string? BackingPath { get; init; }

    /// <summary>"VG/POOL" of a thin volume (the LvmThin backend), whose <see cref="Path"/> is its device; null: a file.</summary>
    public string? ThinPool { get; init; }

    public required VolumeState State { get; init; }

    /// <summary>The session building, copying, resizing or removing it; a later command knows a dead one left it.</summary>
    public ProcessIdentity? Session { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The owning user's name; null: the administrator. A new row names its owner here, resolved when it is inserted.</summary>
    public string? Owner { get; init; }

    /// <summary>The virtio-blk serial the guest finds it by: at most 20 bytes, unique per volume.</summary>
    public string Serial => "vmps-v" + Id.ToString("N")[..14];

    /// <summary>Claimed by a session that is gone (killed mid-command).</summary>
    public bool IsAbandoned => State != VolumeState.Ready && Session is { } session && !ProcessProbe.IsRunning(session);

    /// <summary>The disk the hypervisor gives a VM it is attached to.</summary>
    public DiskSpec Disk(VolumeAttachmentRecord attachment) => new(Path, attachment.ReadOnly, Serial, DiskFormat);

    /// <summary>What the guest mounts (or, for a raw volume, links) at the attachment's path.</summary>
    public GuestVolumeConfig GuestVolume(VolumeAttachmentRecord attachment) => new()
    {
        Name = Name,
        Serial = Serial,
        Path = attachment.Path,
        ReadOnly = attachment.ReadOnly,
        Filesystem = Format == VolumeFormat.Raw ? null : RootfsFilesystems.Ext4,
    };
}

/// <summary>One row of volume_bases: a frozen, read-only file that volumes' qcow2 files read from.</summary>
internal sealed record VolumeBaseRecord(string Path, DiskImageFormat Format, string? BackingPath);

/// <summary>One row of volume_attachments, with the names of its volume and VM.</summary>
internal sealed record VolumeAttachmentRecord(Guid VolumeId, string VolumeName, Guid VmId, string VmName, string Path, bool ReadOnly);

/// <summary>The volumes, volume_attachments and volume_bases tables.</summary>
internal sealed class VolumeStore
{
    private const string AttachmentColumns = """
        SELECT a.volume_id, v.name AS volume_name, a.vm_id, m.name AS vm_name, a.path, a.read_only
        FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id JOIN vms m ON m.id = a.vm_id
        """;

    private const string SelectColumns = "SELECT *, (SELECT u.name FROM users u WHERE u.id = volumes.owner_id) AS owner_name FROM volumes";

    private readonly StateDatabase database;

    public VolumeStore(StateDatabase database)
    {
        this.database = database;
    }

    /// <summary>Reserves the name (and path) for a volume this session is about to build.</summary>
    public Task<VolumeRecord> InsertAsync(VolumeRecord volume, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                await InsertRowAsync(connection, transaction, volume, cancellationToken).ConfigureAwait(false);
                return volume;
            },
            cancellationToken);

    public async Task<IReadOnlyList<VolumeRecord>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command($"{SelectColumns} ORDER BY name COLLATE NOCASE").ListAsync(Read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VolumeRecord?> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await FindAsync(connection, null, "name = $key COLLATE NOCASE", name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the row, applies <paramref name="change"/> (which may throw to refuse) and writes the result in one
    /// immediate transaction. <paramref name="change"/> also sees the volume's attachments with their VMs' states.
    /// Returns null when the row is gone.
    /// </summary>
    public Task<VolumeRecord?> UpdateAsync(Guid id, Func<VolumeRecord, IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)>, VolumeRecord> change, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync((connection, transaction) => UpdateRowAsync(connection, transaction, id, change, cancellationToken), cancellationToken);

    /// <summary>
    /// Copy-VmVolume's start, in one immediate transaction: the source claimed as <see cref="UpdateAsync"/> claims it
    /// (<paramref name="claim"/> may refuse), and the copy's row (<paramref name="copyOf"/> the claimed source)
    /// reserving its name. Null when the source's row is gone.
    /// </summary>
    public Task<(VolumeRecord Source, VolumeRecord Copy)?> BeginCopyAsync(
        Guid sourceId,
        Func<VolumeRecord, IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)>, VolumeRecord> claim,
        Func<VolumeRecord, VolumeRecord> copyOf,
        CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync<(VolumeRecord, VolumeRecord)?>(
            async (connection, transaction) =>
            {
                if (await UpdateRowAsync(connection, transaction, sourceId, claim, cancellationToken).ConfigureAwait(false) is not { } claimed)
                {
                    return null;
                }

                var copy = copyOf(claimed);
                await InsertRowAsync(connection, transaction, copy, cancellationToken).ConfigureAwait(false);
                return (claimed, copy);
            },
            cancellationToken);

    /// <summary>
    /// Copy-VmVolume's end, in one transaction: both rows as given and, where the source's file was frozen into a
    /// read-only base that both volumes' new qcow2 files read, the base's row.
    /// </summary>
    public Task CommitCopyAsync(VolumeRecord source, VolumeRecord copy, VolumeBaseRecord? frozenBase, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                if (frozenBase is not null)
                {
                    await connection.Command("INSERT INTO volume_bases (path, disk_format, backing_path, created_at) VALUES ($path, $format, $backing, $created)", transaction)
                        .With("$path", frozenBase.Path)
                        .With("$format", frozenBase.Format.ToString())
                        .With("$backing", frozenBase.BackingPath)
                        .With("$created", DateTimeOffset.UtcNow.ToStored())
                        .RunAsync(cancellationToken).ConfigureAwait(false);
                }

                await WriteAsync(connection, transaction, source, cancellationToken).ConfigureAwait(false);
                await WriteAsync(connection, transaction, copy, cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>
    /// Undoes a copy not committed, in one transaction: the copy's row goes while it is still being made, and the
    /// source's claim ends. Returns whether the copy's row went (its file is then the caller's to delete).
    /// </summary>
    public Task<bool> AbandonCopyAsync(Guid sourceId, Guid copyId, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var deleted = await connection.Command("DELETE FROM volumes WHERE id = $id AND state = $creating", transaction)
                    .With("$id", copyId.ToString())
                    .With("$creating", nameof(VolumeState.Creating))
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                await UpdateRowAsync(
                    connection,
                    transaction,
                    sourceId,
                    (current, _) => current.State == VolumeState.Copying ? current with { State = VolumeState.Ready, Session = null } : current,
                    cancellationToken).ConfigureAwait(false);
                return deleted > 0;
            },
            cancellationToken);

    /// <summary>Deletes the row unless a VM references it; <paramref name="ensure"/> sees it first and may throw.</summary>
    public Task<bool> DeleteAsync(Guid id, Action<VolumeRecord, IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)>> ensure, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var current = await FindAsync(connection, transaction, "id = $key", id.ToString(), cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return false;
                }

                var attachments = await AttachmentsWithStatesAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
                ensure(current, attachments);
                if (attachments.Count > 0)
                {
                    throw VolumeErrors.Attached(current.Name, attachments.Select(pair => pair.Attachment.VmName));
                }

                return await connection.Command("DELETE FROM volumes WHERE id = $id", transaction).With("$id", id.ToString()).RunAsync(cancellationToken).ConfigureAwait(false) > 0;
            },
            cancellationToken);

    /// <summary>Every attachment (Get-VmVolume's AttachedTo), or those of one VM.</summary>
    public async Task<IReadOnlyList<VolumeAttachmentRecord>> AttachmentsAsync(Guid? vmId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var command = vmId is { } id
            ? connection.Command($"{AttachmentColumns} WHERE a.vm_id = $vm ORDER BY a.created_at, v.name").With("$vm", id.ToString())
            : connection.Command($"{AttachmentColumns} ORDER BY m.name COLLATE NOCASE");
        return await command.ListAsync(ReadAttachment, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Attaches in one immediate transaction, so two sessions cannot both win: the volume must be Ready, the path
    /// free on this VM, and a writable attachment alone (no other VM may have the volume at all, and a read-only
    /// one finds no writer). <paramref name="ensureVm"/> sees the VM's stored state and may throw.
    /// </summary>
    public Task<VolumeAttachmentRecord> AttachAsync(Guid vmId, VolumeAttachOptions options, Action<string> ensureVm, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var vm = (await connection.Command("SELECT name, state FROM vms WHERE id = $id", transaction).With("$id", vmId.ToString())
                        .ListAsync(reader => (Name: reader.GetString(0), State: reader.GetString(1)), cancellationToken).ConfigureAwait(false))
                    .SingleOrDefault();
                if (vm.Name is null)
                {
                    throw Vms.VmErrors.NotFound(vmId.ToString());
                }

                ensureVm(vm.State);
                var volume = await FindAsync(connection, transaction, "name = $key COLLATE NOCASE", options.Volume, cancellationToken).ConfigureAwait(false)
                    ?? throw VolumeErrors.NotFound(options.Volume);
                if (volume.State == VolumeState.Creating)
                {
                    throw VolumeErrors.NotFound(options.Volume);
                }

                if (volume.State == VolumeState.Removing && !volume.IsAbandoned)
                {
                    throw VolumeErrors.Busy(volume.Name, VolumeState.Removing);
                }

                var others = (await AttachmentsWithStatesAsync(connection, transaction, volume.Id, cancellationToken).ConfigureAwait(false)).Select(pair => pair.Attachment).ToList();
                if (others.FirstOrDefault(other => other.VmId == vmId) is not null)
                {
                    throw VolumeErrors.AlreadyAttached(volume.Name, vm.Name);
                }

                if (others.FirstOrDefault(other => !other.ReadOnly) is { } writer)
                {
                    throw VolumeErrors.WritableElsewhere(volume.Name, writer.VmName);
                }

                if (!options.ReadOnly && others.Count > 0)
                {
                    throw VolumeErrors.ReadOnlyElsewhere(volume.Name, others.Select(other => other.VmName));
                }

                var pathTaken = await connection.Command("SELECT 1 FROM volume_attachments WHERE vm_id = $vm AND path = $path", transaction)
                    .With("$vm", vmId.ToString()).With("$path", options.Path).ScalarAsync(cancellationToken).ConfigureAwait(false);
                if (pathTaken is not null)
                {
                    throw VolumeErrors.MountPathInUse(options.Path, vm.Name);
                }

                await connection.Command("INSERT INTO volume_attachments (volume_id, vm_id, path, read_only, created_at) VALUES ($volume, $vm, $path, $ro, $created)", transaction)
                    .With("$volume", volume.Id.ToString())
                    .With("$vm", vmId.ToString())
                    .With("$path", options.Path)
                    .With("$ro", options.ReadOnly ? 1 : 0)
                    .With("$created", DateTimeOffset.UtcNow.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return new VolumeAttachmentRecord(volume.Id, volume.Name, vmId, vm.Name, options.Path, options.ReadOnly);
            },
            cancellationToken);

    /// <summary>Removes the attachment; <paramref name="ensureVm"/> sees the VM's stored state first and may throw. False: there was none.</summary>
    public Task<bool> DetachAsync(Guid vmId, Guid volumeId, Action<string> ensureVm, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var state = (string?)await connection.Command("SELECT state FROM vms WHERE id = $id", transaction).With("$id", vmId.ToString())
                    .ScalarAsync(cancellationToken).ConfigureAwait(false);
                if (state is not null)
                {
                    ensureVm(state);
                }

                return await connection.Command("DELETE FROM volume_attachments WHERE vm_id = $vm AND volume_id = $volume", transaction)
                    .With("$vm", vmId.ToString())
                    .With("$volume", volumeId.ToString())
                    .RunAsync(cancellationToken).ConfigureAwait(false) > 0;
            },
            cancellationToken);

    /// <summary>Deletes the base rows nothing references any more (repeatedly, down a chain); returns their paths.</summary>
    public Task<IReadOnlyList<string>> DeleteUnreferencedBasesAsync(CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync<IReadOnlyList<string>>(
            async (connection, transaction) =>
            {
                var deleted = new List<string>();
                while (true)
                {
                    var unreferenced = await connection.Command(
                            """
                            SELECT path FROM volume_bases b
                            WHERE NOT EXISTS (SELECT 1 FROM volumes v WHERE v.backing_path = b.path)
                              AND NOT EXISTS (SELECT 1 FROM volume_bases c WHERE c.backing_path = b.path)
                            """,
                            transaction)
                        .ListAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
                    if (unreferenced.Count == 0)
                    {
                        return deleted;
                    }

                    foreach (var path in unreferenced)
                    {
                        await connection.Command("DELETE FROM volume_bases WHERE path = $path", transaction).With("$path", path).RunAsync(cancellationToken).ConfigureAwait(false);
                        deleted.Add(path);
                    }
                }
            },
            cancellationToken);

    /// <summary>Every file path a row names (volumes and bases): the files the repair sweep keeps.</summary>
    public async Task<IReadOnlySet<string>> ReferencedPathsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var paths = await connection.Command("SELECT path FROM volumes UNION SELECT path FROM volume_bases").ListAsync(reader => reader.GetString(0), cancellationToken).ConfigureAwait(false);
        return paths.ToHashSet(StringComparer.Ordinal);
    }

    private static async Task<IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)>> AttachmentsWithStatesAsync(
        SqliteConnection connection, SqliteTransaction transaction, Guid volumeId, CancellationToken cancellationToken) =>
        await connection.Command($"{AttachmentColumns.Replace("a.read_only", "a.read_only, m.state", StringComparison.Ordinal)} WHERE a.volume_id = $volume", transaction)
            .With("$volume", volumeId.ToString())
            .ListAsync(reader => (ReadAttachment(reader), reader.GetString(reader.GetOrdinal("state"))), cancellationToken).ConfigureAwait(false);

    private static async Task InsertRowAsync(SqliteConnection connection, SqliteTransaction transaction, VolumeRecord volume, CancellationToken cancellationToken)
    {
        if (await FindAsync(connection, transaction, "name = $key COLLATE NOCASE", volume.Name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            throw VolumeErrors.NameInUse(existing.Name);
        }

        var ownerId = volume.Owner is { } owner ? await UserStore.ResolveOwnerIdAsync(connection, transaction, owner, cancellationToken).ConfigureAwait(false) : null;
        await QuotaEnforcement.EnsureAsync(connection, transaction, ownerId, new QuotaDemand(DiskBytes: volume.SizeBytes), cancellationToken).ConfigureAwait(false);
        await connection.Command(
                """
                INSERT INTO volumes (id, name, format, disk_format, size_bytes, path, backing_path, state, session_pid, session_start_time, created_at, owner_id, thin_pool)
                VALUES ($id, $name, $format, $diskFormat, $size, $path, $backing, $state, $pid, $start, $created, $owner, $thinPool)
                """,
                transaction)
            .With("$id", volume.Id.ToString())
            .With("$name", volume.Name)
            .With("$format", volume.Format.ToString())
            .With("$diskFormat", volume.DiskFormat.ToString())
            .With("$size", volume.SizeBytes)
            .With("$path", volume.Path)
            .With("$backing", volume.BackingPath)
            .With("$state", volume.State.ToString())
            .With("$pid", volume.Session?.Pid)
            .With("$start", (long?)volume.Session?.StartTime)
            .With("$created", volume.CreatedAt.ToStored())
            .With("$owner", ownerId)
            .With("$thinPool", volume.ThinPool)
            .RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<VolumeRecord?> UpdateRowAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        Guid id,
        Func<VolumeRecord, IReadOnlyList<(VolumeAttachmentRecord Attachment, string VmState)>, VolumeRecord> change,
        CancellationToken cancellationToken)
    {
        var current = await FindAsync(connection, transaction, "id = $key", id.ToString(), cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }

        var next = change(current, await AttachmentsWithStatesAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false));
        if (next.SizeBytes > current.SizeBytes)
        {
            // A growth is recorded before the file grows, so the owner's MaxDiskGiB holds it from this moment.
            await QuotaEnforcement.EnsureAsync(connection, transaction, await OwnerIdAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false), new QuotaDemand(DiskBytes: next.SizeBytes - current.SizeBytes), cancellationToken)
                .ConfigureAwait(false);
        }

        await WriteAsync(connection, transaction, next, cancellationToken).ConfigureAwait(false);
        return next;
    }

    private static async Task WriteAsync(SqliteConnection connection, SqliteTransaction transaction, VolumeRecord volume, CancellationToken cancellationToken) =>
        await connection.Command(
                """
                UPDATE volumes SET disk_format = $diskFormat, size_bytes = $size, path = $path, backing_path = $backing,
                                   state = $state, session_pid = $pid, session_start_time = $start
                WHERE id = $id
                """,
                transaction)
            .With("$id", volume.Id.ToString())
            .With("$diskFormat", volume.DiskFormat.ToString())
            .With("$size", volume.SizeBytes)
            .With("$path", volume.Path)
            .With("$backing", volume.BackingPath)
            .With("$state", volume.State.ToString())
            .With("$pid", volume.Session?.Pid)
            .With("$start", (long?)volume.Session?.StartTime)
            .RunAsync(cancellationToken).ConfigureAwait(false);

    private static async Task<string?> OwnerIdAsync(SqliteConnection connection, SqliteTransaction transaction, Guid id, CancellationToken cancellationToken) =>
        (await connection.Command("SELECT owner_id FROM volumes WHERE id = $id", transaction).With("$id", id.ToString())
            .ListAsync(reader => reader.GetNullableString("owner_id"), cancellationToken).ConfigureAwait(false)).Single();

    private static async Task<VolumeRecord?> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, string key, CancellationToken cancellationToken) =>
        (await connection.Command($"{SelectColumns} WHERE {where}", transaction).With("$key", key).ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private static VolumeRecord Read(SqliteDataReader reader) => new()
    {
        Id = Guid.Parse(reader.GetString(reader.GetOrdinal("id"))),
        Name = reader.GetString(reader.GetOrdinal("name")),
        Format = Enum.Parse<VolumeFormat>(reader.GetString(reader.GetOrdinal("format"))),
        DiskFormat = Enum.Parse<DiskImageFormat>(reader.GetString(reader.GetOrdinal("disk_format"))),
        SizeBytes = reader.GetInt64(reader.GetOrdinal("size_bytes")),
        Path = reader.GetString(reader.GetOrdinal("path")),
        BackingPath = reader.GetNullableString("backing_path"),
        ThinPool = reader.GetNullableString("thin_pool"),
        State = Enum.Parse<VolumeState>(reader.GetString(reader.GetOrdinal("state"))),
        Session = reader.GetNullableInt64("session_pid") is { } pid
            ? new ProcessIdentity((int)pid, (ulong)reader.GetNullableInt64("session_start_time").GetValueOrDefault())
            : null,
        CreatedAt = SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at"))),
        Owner = reader.GetNullableString("owner_name"),
    };

    private static VolumeAttachmentRecord ReadAttachment(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(reader.GetOrdinal("volume_id"))),
        reader.GetString(reader.GetOrdinal("volume_name")),
        Guid.Parse(reader.GetString(reader.GetOrdinal("vm_id"))),
        reader.GetString(reader.GetOrdinal("vm_name")),
        reader.GetString(reader.GetOrdinal("path")),
        reader.GetInt64(reader.GetOrdinal("read_only")) != 0);
}
