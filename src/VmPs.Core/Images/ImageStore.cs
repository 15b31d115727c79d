using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using VmPs.Core.Access;
using VmPs.Core.State;

namespace VmPs.Core.Images;

/// <summary>The images table. The rootfs files themselves live under VmPsPaths.ImagesDirectory.</summary>
internal sealed class ImageStore
{
    private static readonly JsonSerializerOptions ConfigJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    private const string SelectColumns = "SELECT *, (SELECT u.name FROM users u WHERE u.id = images.owner_id) AS owner_name FROM images";

    private readonly StateDatabase database;

    public ImageStore(StateDatabase database)
    {
        this.database = database;
    }

    public async Task<IReadOnlyList<ImageInfo>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command($"{SelectColumns} WHERE removed_at IS NULL ORDER BY name COLLATE NOCASE")
            .ListAsync(Read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ImageInfo>> GetUnusedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command(
                $"{SelectColumns} WHERE removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM vms WHERE vms.image_id = images.id) ORDER BY name COLLATE NOCASE")
            .ListAsync(Read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ImageInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command($"{SelectColumns} WHERE name = $name COLLATE NOCASE AND removed_at IS NULL")
            .With("$name", name)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<ImageInfo?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command($"{SelectColumns} WHERE id = $id")
            .With("$id", id)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public Task InsertAsync(ImageInfo image, CancellationToken cancellationToken) =>
        InsertAsync(image, replaceExisting: false, cancellationToken);

    /// <summary>
    /// Stores <paramref name="image"/>. An image of the same name is an error (ImageNameInUse) unless
    /// <paramref name="replaceExisting"/>; then its row goes (refused while VMs use it) and it is returned so the
    /// caller can delete its files.
    /// </summary>
    public Task<ImageInfo?> InsertAsync(ImageInfo image, bool replaceExisting, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var existing = await FindAsync(connection, transaction, image.Name, cancellationToken).ConfigureAwait(false);
                if (existing is not null)
                {
                    if (!replaceExisting)
                    {
                        throw NameInUse(image.Name);
                    }

                    await ThrowIfUsedAsync(connection, transaction, existing, "replaced", cancellationToken).ConfigureAwait(false);
                    await DeleteRowAsync(connection, transaction, existing.Id, cancellationToken).ConfigureAwait(false);
                }

                await DropUnusedTombstonesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                var ownerId = image.Owner is { } owner ? await UserStore.ResolveOwnerIdAsync(connection, transaction, owner, cancellationToken).ConfigureAwait(false) : null;
                await connection.Command(
                        """
                        INSERT INTO images (id, name, reference, digest, platform, format, rootfs_path, size_bytes,
                                            init_mode, config_json, created_at, kind, firmware, virtual_size_bytes, owner_id)
                        VALUES ($id, $name, $reference, $digest, $platform, $format, $rootfs, $size, $init, $config, $created,
                                $kind, $firmware, $virtualSize, $owner)
                        """,
                        transaction)
                    .With("$id", image.Id)
                    .With("$name", image.Name)
                    .With("$reference", image.Reference)
                    .With("$digest", image.Digest)
                    .With("$platform", image.Platform)
                    .With("$format", image.Format.ToString())
                    .With("$rootfs", image.RootfsPath)
                    .With("$size", image.SizeBytes)
                    .With("$init", image.InitMode.ToString())
                    .With("$config", JsonSerializer.Serialize(image.Config, ConfigJson))
                    .With("$created", image.CreatedAt.ToStored())
                    .With("$kind", image.Kind.ToString())
                    .With("$firmware", image.Firmware?.ToString())
                    .With("$virtualSize", image.VirtualSizeBytes)
                    .With("$owner", ownerId)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                return existing;
            },
            cancellationToken);

    /// <summary>
    /// Removes the image's row and returns it, for the caller to delete its files. While VMs use the image this is
    /// refused (ImageInUse) unless <paramref name="force"/>: then the row stays as a tombstone those VMs still
    /// reference, under a name that frees the original one.
    /// </summary>
    public Task<ImageInfo> RemoveAsync(string name, bool force, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var image = await FindAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false)
                    ?? throw NotFound(name);
                if (!force)
                {
                    await ThrowIfUsedAsync(connection, transaction, image, "removed", cancellationToken).ConfigureAwait(false);
                }

                var users = await VmsUsingAsync(connection, transaction, image.Id, cancellationToken).ConfigureAwait(false);
                if (users.Count == 0)
                {
                    await DeleteRowAsync(connection, transaction, image.Id, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await connection.Command(
                            "UPDATE images SET removed_at = $now, name = name || ' (removed ' || id || ')' WHERE id = $id",
                            transaction)
                        .With("$now", DateTimeOffset.UtcNow.ToStored())
                        .With("$id", image.Id)
                        .RunAsync(cancellationToken).ConfigureAwait(false);
                }

                await DropUnusedTombstonesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                return image;
            },
            cancellationToken);

    public static VmPsException NameInUse(string name) => new(
        VmPsErrorIds.ImageNameInUse,
        VmPsErrorKind.ResourceExists,
        $"An image named '{name}' already exists.",
        name)
    {
        RecommendedAction = "Choose another name with -Name, or replace the image with -Force.",
    };

    public static VmPsException NotFound(string name) => new(
        VmPsErrorIds.ImageNotFound,
        VmPsErrorKind.ObjectNotFound,
        $"No image named '{name}'.",
        name);

    private static async Task<ImageInfo?> FindAsync(
        SqliteConnection connection, SqliteTransaction transaction, string name, CancellationToken cancellationToken) =>
        (await connection.Command($"{SelectColumns} WHERE name = $name COLLATE NOCASE AND removed_at IS NULL", transaction)
            .With("$name", name)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private static async Task ThrowIfUsedAsync(
        SqliteConnection connection, SqliteTransaction transaction, ImageInfo image, string action, CancellationToken cancellationToken)
    {
        var users = await VmsUsingAsync(connection, transaction, image.Id, cancellationToken).ConfigureAwait(false);
        if (users.Count > 0)
        {
            throw new VmPsException(
                VmPsErrorIds.ImageInUse,
                VmPsErrorKind.InvalidOperation,
                $"The image '{image.Name}' cannot be {action}: VMs use it ({string.Join(", ", users)}).",
                image.Name)
            {
                RecommendedAction = "Remove those VMs first, or use -Force (they will then fail to start).",
            };
        }
    }

    private static Task<List<string>> VmsUsingAsync(
        SqliteConnection connection, SqliteTransaction transaction, string imageId, CancellationToken cancellationToken) =>
        connection.Command("SELECT name FROM vms WHERE image_id = $id ORDER BY name COLLATE NOCASE", transaction)
            .With("$id", imageId)
            .ListAsync(reader => reader.GetString(0), cancellationToken);

    private static Task<int> DeleteRowAsync(
        SqliteConnection connection, SqliteTransaction transaction, string imageId, CancellationToken cancellationToken) =>
        connection.Command("DELETE FROM images WHERE id = $id", transaction)
            .With("$id", imageId)
            .RunAsync(cancellationToken);

    private static Task<int> DropUnusedTombstonesAsync(
        SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(
            "DELETE FROM images WHERE removed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vms WHERE vms.image_id = images.id)",
            cancellationToken,
            transaction);

    private static ImageInfo Read(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(reader.GetOrdinal("id")),
        Name = reader.GetString(reader.GetOrdinal("name")),
        Reference = reader.GetString(reader.GetOrdinal("reference")),
        Digest = reader.GetString(reader.GetOrdinal("digest")),
        Platform = reader.GetNullableString("platform"),
        Format = Enum.Parse<ImageFormat>(reader.GetString(reader.GetOrdinal("format"))),
        RootfsPath = reader.GetString(reader.GetOrdinal("rootfs_path")),
        SizeBytes = reader.GetInt64(reader.GetOrdinal("size_bytes")),
        InitMode = Enum.Parse<ImageInitMode>(reader.GetString(reader.GetOrdinal("init_mode"))),
        Config = JsonSerializer.Deserialize<ImageConfig>(reader.GetString(reader.GetOrdinal("config_json")), ConfigJson)!,
        CreatedAt = SqliteExtensions.ParseStoredTime(reader.GetString(reader.GetOrdinal("created_at"))),
        Owner = reader.GetNullableString("owner_name"),
        Kind = Enum.Parse<ImageKind>(reader.GetString(reader.GetOrdinal("kind"))),
        Firmware = reader.GetNullableString("firmware") is { } firmware ? Enum.Parse<ImageFirmware>(firmware) : null,
        VirtualSizeBytes = reader.GetNullableInt64("virtual_size_bytes"),
    };
}
