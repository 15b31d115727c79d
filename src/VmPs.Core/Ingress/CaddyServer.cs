using System.Text.Json.Nodes;
using VmPs.Core.Host;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;

namespace VmPs.Core.Ingress;

/// <summary>
/// The ingress's own Caddy: started detached (it outlives the session) in the VMs' network namespace, its admin API
/// only on a 0600 unix socket in the 0700 ingress directory, its whole configuration replaced through that API.
/// A Caddy that died is started again, and given its routes, by the next call.
/// </summary>
internal sealed class CaddyServer
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly IngressLayout layout;
    private readonly Func<NetworkNamespace> networkNamespace;
    private readonly string searchPath;

    public CaddyServer(IngressLayout layout, Func<NetworkNamespace> networkNamespace, string searchPath)
    {
        this.layout = layout;
        this.networkNamespace = networkNamespace;
        this.searchPath = searchPath;
    }

    /// <summary>Whether VmPs ever started Caddy for this state directory (the ingress is in use).</summary>
    public bool WasStarted => File.Exists(layout.CaddyPidFile);

    /// <summary>The running Caddy, or null.</summary>
    public ProcessIdentity? Running =>
        PidFile.Read(layout.CaddyPidFile) is { } identity && ProcessProbe.IsDetachedFor(identity, layout.Directory) ? identity : null;

    /// <summary>
    /// Starts Caddy when it does not run and loads <paramref name="config"/>. Caddy keeps its previous configuration
    /// when the new one fails (a port in use), so a failure changes nothing.
    /// </summary>
    public async Task ApplyAsync(JsonObject config, CancellationToken cancellationToken)
    {
        using var admin = new CaddyAdminClient(layout.AdminSocket);
        await EnsureRunningAsync(admin, cancellationToken).ConfigureAwait(false);
        if (await admin.LoadAsync(config, cancellationToken).ConfigureAwait(false) is { } error)
        {
            throw error.Contains("address already in use", StringComparison.Ordinal)
                ? IngressErrors.PortInUse(error)
                : IngressErrors.CaddyFailed(error, layout.CaddyLog);
        }
    }

    /// <summary>Ends Caddy (the last route is gone) and forgets it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Running is { } identity)
        {
            await ProcessProbe.KillAsync(identity, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        File.Delete(layout.CaddyPidFile);
        File.Delete(layout.AdminSocket);
    }

    private async Task EnsureRunningAsync(CaddyAdminClient admin, CancellationToken cancellationToken)
    {
        var running = Running;
        if (running is not null && await admin.PingAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (running is { } stuck)
        {
            await ProcessProbe.KillAsync(stuck, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        var caddy = DetachedProcess.FindOnPath(HostToolCatalog.Caddy.Name, searchPath) ?? throw IngressErrors.CaddyMissing(searchPath);
        PrivateFiles.CreateDirectory(layout.Directory);
        PrivateFiles.CreateDirectory(layout.DataDirectory);
        await PrivateFiles.WriteAllTextAsync(layout.BootstrapConfig, CaddyConfig.Bootstrap(layout).ToJsonString(), cancellationToken).ConfigureAwait(false);
        File.Delete(layout.AdminSocket);
        var identity = await networkNamespace().RunAsync(
            () => DetachedProcess.Start(caddy, ["run", "--config", layout.BootstrapConfig], layout.CaddyLog, layout.Directory, layout.CaddyPidFile),
            cancellationToken).ConfigureAwait(false);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await admin.PingAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!ProcessProbe.IsRunning(identity) || started.Elapsed > StartTimeout)
            {
                await ProcessProbe.KillAsync(identity, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                throw IngressErrors.CaddyFailed($"it did not answer on its admin socket within {StartTimeout.TotalSeconds:0} s", layout.CaddyLog);
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        // Caddy binds the socket with the umask's mode; inside the 0700 directory it is private already, and 0600 by rule.
        PrivateFiles.Restrict(layout.AdminSocket);
    }
}
