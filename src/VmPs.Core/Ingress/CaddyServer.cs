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
    private readonly IngressLayout layout;
    private readonly Func<NetworkNamespace> networkNamespace;
    private readonly string searchPath;
    private readonly SupervisedServer server;

    public CaddyServer(IngressLayout layout, Func<NetworkNamespace> networkNamespace, string searchPath)
    {
        this.layout = layout;
        this.networkNamespace = networkNamespace;
        this.searchPath = searchPath;
        server = new SupervisedServer(layout.Directory, layout.CaddyPidFile, layout.AdminSocket);
    }

    /// <summary>Whether VmPs ever started Caddy for this state directory (the ingress is in use).</summary>
    public bool WasStarted => server.WasStarted;

    /// <summary>
    /// Starts Caddy when it does not run and loads <paramref name="config"/>. When Caddy refuses it (a port in use),
    /// Caddy is ended: Caddy 2.6 says it kept its previous configuration, but the servers of the refused one that did
    /// start keep their listeners and answer beside the previous ones. The caller applies what it keeps, which starts
    /// a clean Caddy.
    /// </summary>
    public async Task ApplyAsync(JsonObject config, CancellationToken cancellationToken)
    {
        using var admin = new CaddyAdminClient(layout.AdminSocket);
        await server.EnsureRunningAsync(admin.PingAsync, StartAsync, detail => IngressErrors.CaddyFailed(detail, layout.CaddyLog), cancellationToken).ConfigureAwait(false);
        if (await admin.LoadAsync(config, cancellationToken).ConfigureAwait(false) is { } error)
        {
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw error.Contains("address already in use", StringComparison.Ordinal)
                ? IngressErrors.PortInUse(error)
                : IngressErrors.CaddyFailed(error, layout.CaddyLog);
        }
    }

    /// <summary>Ends Caddy (the last route is gone) and forgets it.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);

    private async Task<ProcessIdentity> StartAsync(CancellationToken cancellationToken)
    {
        var caddy = DetachedProcess.FindOnPath(HostToolCatalog.Caddy.Name, searchPath) ?? throw IngressErrors.CaddyMissing(searchPath);
        PrivateFiles.CreateDirectory(layout.DataDirectory);
        await PrivateFiles.WriteAllTextAsync(layout.BootstrapConfig, CaddyConfig.Bootstrap(layout).ToJsonString(), cancellationToken).ConfigureAwait(false);
        return await networkNamespace().RunAsync(
            () => DetachedProcess.Start(caddy, ["run", "--config", layout.BootstrapConfig], layout.CaddyLog, layout.Directory, layout.CaddyPidFile),
            cancellationToken).ConfigureAwait(false);
    }
}
