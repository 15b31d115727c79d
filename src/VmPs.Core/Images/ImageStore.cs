using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
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

    private readonly StateDatabase database;

    public ImageStore(StateDatabase database)
    {
        this.database = database;
    }

    public async Task<IReadOnlyList<ImageInfo>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT * FROM images ORDER BY name COLLATE NOCASE")
            .ListAsync(Read, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ImageInfo?> FindAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command("SELECT * FROM images WHERE name = $name COLLATE NOCASE")
            .With("$name", name)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<ImageInfo?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.Command("SELECT * FROM images WHERE id = $id")
            .With("$id", id)
            .ListAsync(Read, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public Task InsertAsync(ImageInfo image, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var taken = await connection.Command("SELECT 1 FROM images WHERE name = $name COLLATE NOCASE", transaction)
                    .With("$name", image.Name)
                    .ScalarAsync(cancellationToken).ConfigureAwait(false);
                if (taken is not null)
                {
                    throw new VmPsException(
                        "ImageNameInUse",
                        VmPsErrorKind.ResourceExists,
                        $"An image named '{image.Name}' already exists.",
                        image.Name);
                }

                await connection.Command(
                        """
                        INSERT INTO images (id, name, reference, digest, platform, format, rootfs_path, size_bytes,
                                            init_mode, config_json, created_at)
                        VALUES ($id, $name, $reference, $digest, $platform, $format, $rootfs, $size, $init, $config, $created)
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
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

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
    };
}
