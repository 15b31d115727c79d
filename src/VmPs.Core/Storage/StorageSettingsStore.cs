using VmPs.Core.State;

namespace VmPs.Core.Storage;

/// <summary>The host's storage backend, kept in the state database's host_settings rows (one name each).</summary>
internal sealed class StorageSettingsStore
{
    private const string BackendKey = "storage.backend";
    private const string VolumeGroupKey = "storage.volume_group";
    private const string ThinPoolKey = "storage.thin_pool";

    private readonly StateDatabase database;

    public StorageSettingsStore(StateDatabase database) => this.database = database;

    /// <summary>The stored choice; File when none was made.</summary>
    public async Task<StorageSettings> GetAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var values = (await connection.Command("SELECT name, value FROM host_settings WHERE name LIKE 'storage.%'")
                .ListAsync(reader => (Name: reader.GetString(0), Value: reader.GetString(1)), cancellationToken).ConfigureAwait(false))
            .ToDictionary(row => row.Name, row => row.Value);
        return values.TryGetValue(BackendKey, out var backend) && Enum.TryParse<StorageBackend>(backend, out var kind) && kind == StorageBackend.LvmThin
            ? new StorageSettings(kind, values.GetValueOrDefault(VolumeGroupKey), values.GetValueOrDefault(ThinPoolKey))
            : StorageSettings.Default;
    }

    /// <summary>Replaces the stored choice in one transaction: a reader sees the old settings or the new, never a mix.</summary>
    public Task SetAsync(StorageSettings settings, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                await connection.Command("DELETE FROM host_settings WHERE name IN ($backend, $group, $pool)", transaction)
                    .With("$backend", BackendKey).With("$group", VolumeGroupKey).With("$pool", ThinPoolKey)
                    .RunAsync(cancellationToken).ConfigureAwait(false);
                foreach (var (name, value) in new[] { (BackendKey, settings.Backend.ToString()), (VolumeGroupKey, settings.VolumeGroup), (ThinPoolKey, settings.ThinPool) })
                {
                    if (value is not null)
                    {
                        await connection.Command("INSERT INTO host_settings (name, value) VALUES ($name, $value)", transaction)
                            .With("$name", name).With("$value", value)
                            .RunAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            },
            cancellationToken);
}
