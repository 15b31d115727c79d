using System.Net;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.SshGateway;

/// <summary>The SSH gateway of an installation: its settings checked here, its sshd run by <see cref="SshGatewayServer"/>.</summary>
public sealed class SshGatewayManager : ISshGatewayManager
{
    private readonly SshGatewayLayout layout;
    private readonly SshGatewayServer server;
    private readonly Func<CancellationToken, Task<SshGatewayAccounts>> listAccounts;

    /// <param name="listAccounts">Every VM and user, as they are now: the gateway's accounts and hosts file.</param>
    internal SshGatewayManager(SshGatewayLayout layout, VmPsSettings installation, Func<CancellationToken, Task<SshGatewayAccounts>> listAccounts, string sshd, Func<string> program)
    {
        this.layout = layout;
        this.listAccounts = listAccounts;
        server = new SshGatewayServer(layout, installation, sshd, program);
    }

    public async Task<SshGatewayInfo> StartAsync(SshGatewayStartOptions options, CancellationToken cancellationToken)
    {
        var settings = Check(options);
        using (await LockAsync(cancellationToken).ConfigureAwait(false))
        {
            await server.StartAsync(settings, await listAccounts(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        return Describe();
    }

    public void ValidateStart(SshGatewayStartOptions options) => Check(options);

    public async Task<SshGatewayInfo> StopAsync(CancellationToken cancellationToken)
    {
        using (await LockAsync(cancellationToken).ConfigureAwait(false))
        {
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        return Describe();
    }

    public async Task<SshGatewayInfo> GetAsync(CancellationToken cancellationToken)
    {
        if (server.WasStarted && server.Running is null && server.Settings is { } settings)
        {
            using (await LockAsync(cancellationToken).ConfigureAwait(false))
            {
                if (server.WasStarted && server.Running is null)
                {
                    await server.StartAsync(settings, await listAccounts(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return Describe();
    }

    public async Task RefreshAccountsAsync(CancellationToken cancellationToken)
    {
        if (server.WasStarted)
        {
            await server.WriteAccountsAsync(await listAccounts(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
    }

    private SshGatewayInfo Describe()
    {
        var running = server.Running;
        var settings = server.Settings;
        var hostKey = File.Exists(layout.HostPublicKey) ? Access.SshPublicKey.Parse(File.ReadAllText(layout.HostPublicKey)) : null;
        return new SshGatewayInfo
        {
            Status = running is null ? SshGatewayStatus.Stopped : SshGatewayStatus.Running,
            Port = settings?.Port,
            ListenAddress = settings?.ListenAddress,
            ProcessId = running?.Pid,
            HostKeyFingerprint = hostKey?.Fingerprint,
            HostPublicKey = hostKey is null ? null : $"{hostKey.Type} {hostKey.KeyData}",
            Directory = layout.Directory,
        };
    }

    private static SshGatewaySettings Check(SshGatewayStartOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, 65535);
        var address = options.ListenAddress ?? IPAddress.Any.ToString();
        return IPAddress.TryParse(address, out var parsed) && parsed.ToString() is var canonical
            ? new SshGatewaySettings(options.Port, canonical)
            : throw SshGatewayErrors.InvalidAddress(address);
    }

    private Task<FileLock> LockAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(layout.Directory);
        return FileLock.AcquireAsync(layout.LockFile, FileLock.DefaultTimeout, cancellationToken);
    }
}
