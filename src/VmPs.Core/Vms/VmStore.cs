using VmPs.Core.Access;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Vms;

/// <summary>The vms table: rows, state transitions and the per-VM allocations (vsock CID, MAC address).</summary>
internal sealed class VmStore
{
    public const uint FirstGuestCid = 3;

    /// <summary>02 = locally administered unicast; 76:6d is "vm".</summary>
    public const string MacPrefix = "02:76:6d";

    private const string SelectColumns = """
        SELECT v.*, i.name AS image_name, i.kind AS image_kind, u.name AS owner_name FROM vms v JOIN images i ON i.id = v.image_id LEFT JOIN users u ON u.id = v.owner_id
        """;

    private static readonly JsonSerializerOptions InstanceJson = new()
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly StateDatabase database;

    public VmStore(StateDatabase database)
    {
        this.database = database;
    }

    /// <summary>
    /// Inserts the VM, checking its owner's quota and allocating its CID and MAC in the same immediate transaction, so
    /// concurrent sessions never hand out the same name, CID or MAC, nor together exceed a quota.
    /// </summary>
    public Task<VmRecord> InsertAsync(NewVm vm, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                if (await FindByNameAsync(connection, transaction, vm.Name, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    throw NameInUse(existing.Name);
                }

                var ownerId = vm.Owner is { } owner ? await UserStore.ResolveOwnerIdAsync(connection, transaction, owner, cancellationToken).ConfigureAwait(false) : null;
                await QuotaEnforcement.EnsureAsync(connection, transaction, ownerId, new QuotaDemand(Vms: 1, DiskBytes: (long)vm.DiskSizeGiB << 30), cancellationToken)
                    .ConfigureAwait(false);
                var cid = await AllocateCidAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                var mac = await AllocateMacAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                await connection.Command(
                        """
                        INSERT INTO vms (id, name, image_id, cpus, memory_mib, hypervisor, kernel_path, disk_size_gib,
                                         state, vsock_cid, mac_address, created_at, init_mode, owner_id, machine_type, disk_format, disk_file,
                                         metadata_http_tokens, iso_path)
                        VALUES ($id, $name, $image, $cpus, $memory, $hypervisor, $kernel, $disk, $state, $cid, $mac, $created, $initMode, $owner, $machine, $diskFormat, $diskFile,
                                $httpTokens, $iso)
                        """,
                        transaction)
                    .With("$id", vm.Id.ToString())
                    .With("$name", vm.Name)
                    .With("$image", vm.ImageId)
                    .With("$cpus", vm.Cpus)
                    .With("$memory", vm.MemoryMiB)
                    .With("$hypervisor", vm.Hypervisor.ToString())
                    .With("$kernel", vm.KernelPath)
                    .With("$disk", vm.DiskSizeGiB)
                    .With("$state", VmState.Stopped.ToString())
                    .With("$cid", (long)cid)
                    .With("$mac", mac)
                    .With("$created", vm.CreatedAt.ToStored())
                    .With("$initMode", vm.InitMode?.ToString())
                    .With("$owner", ownerId)
                    .With("$machine", vm.MachineType?.ToString())
                    .With("$diskFormat", vm.DiskFormat.ToString())
                    .With("$diskFile", vm.DiskFile)
                    .With("$httpTokens", vm.MetadataHttpTokens.ToString())
                    .With("$iso", vm.IsoPath)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                var shares = vm.Shares ?? [];
                for (var index = 0; index < shares.Count; index++)
                {
                    await connection.Command(
                            "INSERT INTO vm_shares (vm_id, tag, host_path, guest_path, read_only) VALUES ($vm, $tag, $host, $guest, $readOnly)",
                            transaction)
                        .With("$vm", vm.Id.ToString())
                        .With("$tag", ShareTag(index))
                        .With("$host", shares[index].HostPath)
                        .With("$guest", shares[index].GuestPath)
                        .With("$readOnly", shares[index].ReadOnly ? 1 : 0)
                        .RunAsync(cancellationToken).ConfigureAwait(false);
                }

                return (await FindByIdAsync(connection, transaction, vm.Id, cancellationToken).ConfigureAwait(false))!;
            },
            cancellationToken);

    /// <summary>The virtio-fs tag of the VM's share number <paramref name="index"/> (at most 36 bytes in virtio-fs).</summary>
    public static string ShareTag(int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"vmps-share{index}");

    /// <summary>The VM's host directory shares (New-Vm -Share), in the order given, each with its virtio-fs tag.</summary>
    public async Task<IReadOnlyList<ShareSpec>> SharesAsync(Guid vmId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT tag, host_path, guest_path, read_only FROM vm_shares WHERE vm_id = $vm ORDER BY rowid")
            .With("$vm", vmId.ToString())
            .ListAsync(reader => new ShareSpec(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3) != 0), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Every VM's shares by VM id, each VM's in the order New-Vm was given them (Get-Vm reads them at once).</summary>
    public async Task<ILookup<Guid, ShareSpec>> AllSharesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.Command("SELECT vm_id, tag, host_path, guest_path, read_only FROM vm_shares ORDER BY rowid")
            .ListAsync(reader => (VmId: Guid.Parse(reader.GetString(0)), Share: new ShareSpec(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4) != 0)), cancellationToken)
            .ConfigureAwait(false);
        return rows.ToLookup(row => row.VmId, row => row.Share);
    }

    public async Task<IReadOnlyList<VmRecord>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command($"{SelectColumns} ORDER BY v.name COLLATE NOCASE")
            .ListAsync(Read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VmRecord?> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await FindByNameAsync(connection, null, name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VmRecord?> FindByIdAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await FindByIdAsync(connection, null, id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the row, applies <paramref name="change"/> and writes the result, all in one immediate
    /// transaction (a compare-and-set: <paramref name="change"/> sees the current row and may throw
    /// to refuse a transition). <paramref name="admit"/>, when given, checks the new row (its owner's quota) in the
    /// same transaction. Returns null when the row no longer exists.
    /// </summary>
    public Task<VmRecord?> UpdateAsync(
        Guid id,
        Func<VmRecord, VmRecord> change,
        CancellationToken cancellationToken,
        Func<SqliteConnection, SqliteTransaction, VmRecord, Task>? admit = null) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var current = await FindByIdAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return null;
                }

                var next = change(current);
                if (next == current)
                {
                    return current;
                }

                if (admit is not null)
                {
                    await admit(connection, transaction, next).ConfigureAwait(false);
                }

                await connection.Command(
                        """
                        UPDATE vms SET cpus = $cpus, memory_mib = $memory, state = $state, instance_json = $instance, started_at = $started,
                                       stopped_at = $stopped, exit_code = $exit, status_detail = $detail,
                                       session_pid = $sessionPid, session_start_time = $sessionStart, metadata_http_tokens = $httpTokens,
                                       iso_path = $iso
                        WHERE id = $id
                        """,
                        transaction)
                    .With("$id", id.ToString())
                    .With("$cpus", next.Cpus)
                    .With("$memory", next.MemoryMiB)
                    .With("$state", next.State.ToString())
                    .With("$instance", next.Instance is null ? null : JsonSerializer.Serialize(next.Instance, InstanceJson))
                    .With("$started", next.StartedAt?.ToStored())
                    .With("$stopped", next.StoppedAt?.ToStored())
                    .With("$exit", next.ExitCode)
                    .With("$detail", next.StatusDetail)
                    .With("$sessionPid", next.Session?.Pid)
                    .With("$sessionStart", (long?)next.Session?.StartTime)
                    .With("$httpTokens", next.MetadataHttpTokens.ToString())
                    .With("$iso", next.IsoPath)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return next;
            },
            cancellationToken);

    /// <summary>
    /// Records the VM's disk size. Resize-VmDisk records a growth before it grows the file, so the owner's MaxDiskGiB
    /// is checked in this transaction and holds it from then on.
    /// </summary>
    public Task SetDiskSizeAsync(Guid id, int diskSizeGiB, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var (current, ownerId) = (await connection.Command("SELECT disk_size_gib, owner_id FROM vms WHERE id = $id", transaction)
                    .With("$id", id.ToString())
                    .ListAsync(reader => (reader.GetInt32(0), reader.GetNullableString("owner_id")), cancellationToken).ConfigureAwait(false)).Single();
                if (diskSizeGiB > current)
                {
                    await QuotaEnforcement.EnsureAsync(connection, transaction, ownerId, new QuotaDemand(DiskBytes: (long)(diskSizeGiB - current) << 30), cancellationToken)
                        .ConfigureAwait(false);
                }

                await connection.Command("UPDATE vms SET disk_size_gib = $disk WHERE id = $id", transaction)
                    .With("$id", id.ToString())
                    .With("$disk", diskSizeGiB)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Makes the file <paramref name="name"/> in the VM's directory, in <paramref name="format"/>, the VM's disk.</summary>
    public Task SetDiskFileAsync(Guid id, string name, DiskImageFormat format, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) => await connection.Command("UPDATE vms SET disk_format = $format, disk_file = $file WHERE id = $id", transaction)
                .With("$id", id.ToString())
                .With("$format", format.ToString())
                .With("$file", name)
                .RunAsync(cancellationToken).ConfigureAwait(false),
            cancellationToken);

    /// <summary>
    /// Records that the VM, while running, was used at <paramref name="at"/> (an exec or file operation). Best effort
    /// (see <see cref="StateDatabase.TryInWriteTransactionAsync"/>): false when the database took no write.
    /// </summary>
    public Task<bool> TryRecordActivityAsync(Guid id, DateTimeOffset at, CancellationToken cancellationToken) =>
        database.TryInWriteTransactionAsync(
            async (connection, transaction) => await connection.Command("UPDATE vms SET last_activity_at = $at WHERE id = $id AND state = $running", transaction)
                .With("$id", id.ToString())
                .With("$at", at.ToStored())
                .With("$running", VmState.Running.ToString())
                .RunAsync(cancellationToken).ConfigureAwait(false),
            cancellationToken);

    /// <summary>
    /// Records running VMs' packet counts as observed now and their last activity (null keeps none), in one
    /// best-effort transaction: false when the database took no write.
    /// </summary>
    public Task<bool> TryRecordNetworkPacketsAsync(IReadOnlyList<NetworkObservation> observations, CancellationToken cancellationToken) =>
        database.TryInWriteTransactionAsync(
            async (connection, transaction) =>
            {
                foreach (var observation in observations)
                {
                    await connection.Command("UPDATE vms SET network_packets = $packets, last_activity_at = $at WHERE id = $id AND state = $running", transaction)
                        .With("$id", observation.VmId.ToString())
                        .With("$packets", observation.Packets)
                        .With("$at", observation.LastActivityAt?.ToStored())
                        .With("$running", VmState.Running.ToString())
                        .RunAsync(cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken);

    /// <summary>Deletes the row; <paramref name="ensure"/> sees it first, inside the transaction, and may throw to refuse.</summary>
    public Task<bool> DeleteAsync(Guid id, Action<VmRecord> ensure, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var current = await FindByIdAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false);
                if (current is null)
                {
                    return false;
                }

                ensure(current);
                return await connection.Command("DELETE FROM vms WHERE id = $id", transaction)
                    .With("$id", id.ToString())
                    .RunAsync(cancellationToken).ConfigureAwait(false) > 0;
            },
            cancellationToken);

    public static VmPsException NameInUse(string name) => new(
        VmPsErrorIds.VmNameInUse,
        VmPsErrorKind.ResourceExists,
        $"A VM named '{name}' already exists.",
        name)
    {
        RecommendedAction = "Choose another name, or remove the existing VM with Remove-Vm.",
    };

    private static async Task<VmRecord?> FindByNameAsync(SqliteConnection connection, SqliteTransaction? transaction, string name, CancellationToken cancellationToken) =>
        (await connection.Command($"{SelectColumns} WHERE v.name = $name COLLATE NOCASE", transaction)
            .With("$name", name)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private static async Task<VmRecord?> FindByIdAsync(SqliteConnection connection, SqliteTransaction? transaction, Guid id, CancellationToken cancellationToken) =>
        (await connection.Command($"{SelectColumns} WHERE v.id = $id", transaction)
            .With("$id", id.ToString())
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    /// <summary>The lowest CID not held by any VM (CIDs 0-2 are reserved for the hypervisor and host).</summary>
    private static async Task<uint> AllocateCidAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        var taken = await connection.Command("SELECT vsock_cid FROM vms ORDER BY vsock_cid", transaction)
            .ListAsync(reader => reader.GetInt64(0), cancellationToken).ConfigureAwait(false);
        long candidate = FirstGuestCid;
        foreach (var cid in taken)
        {
            if (cid != candidate)
            {
                break;
            }

            candidate++;
        }

        return (uint)candidate;
    }

    private static async Task<string> AllocateMacAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        // 2^24 addresses: a random pick almost never collides, and a collision just draws again.
        var suffix = new byte[3];
        while (true)
        {
            RandomNumberGenerator.Fill(suffix);
            var mac = string.Create(CultureInfo.InvariantCulture, $"{MacPrefix}:{suffix[0]:x2}:{suffix[1]:x2}:{suffix[2]:x2}");
            var inUse = await connection.Command("SELECT 1 FROM vms WHERE mac_address = $mac", transaction)
                .With("$mac", mac)
                .ScalarAsync(cancellationToken).ConfigureAwait(false);
            if (inUse is null)
            {
                return mac;
            }
        }
    }

    private static VmRecord Read(SqliteDataReader reader) => new()
    {
        Id = Guid.Parse(reader.GetString(reader.GetOrdinal("id"))),
        Name = reader.GetString(reader.GetOrdinal("name")),
        ImageId = reader.GetString(reader.GetOrdinal("image_id")),
        ImageName = reader.GetString(reader.GetOrdinal("image_name")),
        ImageKind = Enum.Parse<ImageKind>(reader.GetString(reader.GetOrdinal("image_kind"))),
        Cpus = reader.GetInt32(reader.GetOrdinal("cpus")),
        MemoryMiB = reader.GetInt32(reader.GetOrdinal("memory_mib")),
        Hypervisor = Enum.Parse<HypervisorKind>(reader.GetString(reader.GetOrdinal("hypervisor"))),
        MachineType = reader.GetNullableString("machine_type") is { } machine ? Enum.Parse<QemuMachine>(machine) : null,
        KernelPath = reader.GetString(reader.GetOrdinal("kernel_path")),
        DiskSizeGiB = reader.GetInt32(reader.GetOrdinal("disk_size_gib")),
        DiskFormat = Enum.Parse<DiskImageFormat>(reader.GetString(reader.GetOrdinal("disk_format"))),
        DiskFile = reader.GetNullableString("disk_file"),
        State = Enum.Parse<VmState>(reader.GetString(reader.GetOrdinal("state"))),
        Instance = reader.GetNullableString("instance_json") is { } json
            ? JsonSerializer.Deserialize<HypervisorInstance>(json, InstanceJson)
            : null,
        Session = reader.GetNullableInt64("session_pid") is { } pid
            ? new ProcessIdentity((int)pid, (ulong)reader.GetNullableInt64("session_start_time").GetValueOrDefault())
            : null,
        VsockCid = (uint)reader.GetInt64(reader.GetOrdinal("vsock_cid")),
        MacAddress = reader.GetString(reader.GetOrdinal("mac_address")),
        CreatedAt = SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at"))),
        StartedAt = reader.GetNullableTime("started_at"),
        StoppedAt = reader.GetNullableTime("stopped_at"),
        ExitCode = (int?)reader.GetNullableInt64("exit_code"),
        StatusDetail = reader.GetNullableString("status_detail"),
        InitMode = reader.GetNullableString("init_mode") is { } initMode ? Enum.Parse<ImageInitMode>(initMode) : null,
        OwnerId = reader.GetNullableString("owner_id"),
        Owner = reader.GetNullableString("owner_name"),
        LastActivityAt = reader.GetNullableTime("last_activity_at"),
        NetworkPackets = reader.GetNullableInt64("network_packets"),
        MetadataHttpTokens = Enum.Parse<MetadataHttpTokens>(reader.GetString(reader.GetOrdinal("metadata_http_tokens"))),
        IsoPath = reader.GetNullableString("iso_path"),
    };
}
