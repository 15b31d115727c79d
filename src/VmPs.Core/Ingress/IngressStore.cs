using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Ingress;

/// <summary>A stored route: a host name to a port of a VM (by name, as the route is read).</summary>
internal sealed record IngressRouteRow(string Hostname, string VmName, int Port, IngressTls Tls, bool Public);

/// <summary>The ingress_routes table, the ingress domain and the ACME CA (host_settings 'ingress.*').</summary>
internal sealed class IngressStore
{
    private const string DomainKey = "ingress.domain";
    private const string AcmeDirectoryKey = "ingress.acme.directory";
    private const string AcmeEmailKey = "ingress.acme.email";
    private const string AcmeRootKey = "ingress.acme.root";
    private const string AcmeChallengesKey = "ingress.acme.challenges";

    private readonly StateDatabase database;

    public IngressStore(StateDatabase database) => this.database = database;

    /// <summary>Stores the route; with <paramref name="apply"/> false, only checks that it could (New-VmIngress -WhatIf).</summary>
    public Task InsertAsync(VmIngressCreateOptions options, bool apply, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                var vmId = await connection.Command("SELECT id FROM vms WHERE name = $name", transaction)
                    .With("$name", options.VmName)
                    .ScalarAsync(cancellationToken).ConfigureAwait(false) as string ?? throw VmErrors.NotFound(options.VmName);
                var taken = await connection.Command("SELECT v.name FROM ingress_routes r JOIN vms v ON v.id = r.vm_id WHERE r.hostname = $host", transaction)
                    .With("$host", options.Hostname)
                    .ScalarAsync(cancellationToken).ConfigureAwait(false) as string;
                if (taken is not null)
                {
                    throw IngressErrors.HostnameInUse(options.Hostname, taken);
                }

                if (!apply)
                {
                    return;
                }

                await connection.Command("INSERT INTO ingress_routes (hostname, vm_id, port, tls, public, created_at) VALUES ($host, $vm, $port, $tls, $public, $created)", transaction)
                    .With("$host", options.Hostname)
                    .With("$vm", vmId)
                    .With("$port", options.Port)
                    .With("$tls", options.Tls.ToString())
                    .With("$public", options.Public ? 1 : 0)
                    .With("$created", DateTimeOffset.UtcNow.ToStored())
                    .RunAsync(cancellationToken).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Deletes the route; false when there was none.</summary>
    public async Task<bool> DeleteAsync(string hostname, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("DELETE FROM ingress_routes WHERE hostname = $host").With("$host", hostname).RunAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<IReadOnlyList<IngressRouteRow>> GetAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT r.hostname, v.name, r.port, r.tls, r.public FROM ingress_routes r JOIN vms v ON v.id = r.vm_id ORDER BY r.hostname")
            .ListAsync(
                reader => new IngressRouteRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), Enum.Parse<IngressTls>(reader.GetString(3)), reader.GetInt64(4) != 0),
                cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The domain every VM has a default route under, or null.</summary>
    public Task<string?> GetDomainAsync(CancellationToken cancellationToken) => GetSettingAsync(DomainKey, cancellationToken);

    /// <summary>Sets the domain (null clears it).</summary>
    public Task SetDomainAsync(string? domain, CancellationToken cancellationToken) =>
        SetSettingsAsync(new Dictionary<string, string?> { [DomainKey] = domain }, cancellationToken);

    /// <summary>The ACME CA of Set-VmHost -AcmeDirectory, or Let's Encrypt's when none was set.</summary>
    public async Task<IngressAcmeSettings> GetAcmeAsync(CancellationToken cancellationToken) =>
        await GetSettingAsync(AcmeDirectoryKey, cancellationToken).ConfigureAwait(false) is { } directory
            ? new IngressAcmeSettings(
                new Uri(directory),
                await GetSettingAsync(AcmeEmailKey, cancellationToken).ConfigureAwait(false),
                await GetSettingAsync(AcmeRootKey, cancellationToken).ConfigureAwait(false),
                Challenges(await GetSettingAsync(AcmeChallengesKey, cancellationToken).ConfigureAwait(false)))
            : IngressAcmeSettings.Default;

    public async Task<IngressHostSettings> GetHostSettingsAsync(CancellationToken cancellationToken) =>
        new(await GetDomainAsync(cancellationToken).ConfigureAwait(false), await GetAcmeAsync(cancellationToken).ConfigureAwait(false));

    public Task SetAcmeAsync(IngressAcmeSettings acme, CancellationToken cancellationToken) =>
        SetSettingsAsync(
            new Dictionary<string, string?>
            {
                [AcmeDirectoryKey] = acme.Directory.AbsoluteUri,
                [AcmeEmailKey] = acme.Email,
                [AcmeRootKey] = acme.TrustedRootFile,
                [AcmeChallengesKey] = acme.Challenges.ToString(),
            },
            cancellationToken);

    /// <summary>Settings stored before challenges could be chosen (or unreadable ones) answer both, as Caddy does.</summary>
    private static AcmeChallenges Challenges(string? stored) =>
        Enum.TryParse<AcmeChallenges>(stored, out var challenges) && IngressAcme.IsChallengeSet(challenges)
            ? challenges
            : AcmeChallenges.All;

    private async Task<string?> GetSettingAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.Command("SELECT value FROM host_settings WHERE name = $name").With("$name", name).ScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Sets the settings in one transaction (null removes one).</summary>
    private Task SetSettingsAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken) =>
        database.InWriteTransactionAsync(
            async (connection, transaction) =>
            {
                foreach (var (name, value) in settings)
                {
                    await connection.Command("DELETE FROM host_settings WHERE name = $name", transaction).With("$name", name).RunAsync(cancellationToken).ConfigureAwait(false);
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
