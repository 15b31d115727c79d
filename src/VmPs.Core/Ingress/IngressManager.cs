using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Vms;

namespace VmPs.Core.Ingress;

/// <summary>Ingress routes: validated here, stored by <see cref="IngressStore"/>, served by <see cref="CaddyServer"/>.</summary>
public sealed class IngressManager : IIngressManager
{
    private readonly IngressStore store;
    private readonly IVmManager vms;
    private readonly CaddyServer caddy;
    private readonly IngressAuthServer checker;
    private readonly IngressCertificates certificates;
    private readonly IngressLayout layout;

    internal IngressManager(VmPsPaths paths, StateDatabase database, IVmManager vms, Func<NetworkNamespace> networkNamespace, string searchPath)
    {
        store = new IngressStore(database);
        this.vms = vms;
        layout = new IngressLayout(paths.IngressDirectory);
        caddy = new CaddyServer(layout, networkNamespace, searchPath);
        checker = new IngressAuthServer(layout, paths.Root);
        certificates = new IngressCertificates(layout);
    }

    public async Task<VmIngress> CreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken)
    {
        var checkedOptions = Check(options);
        using var ingressLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        await store.InsertAsync(checkedOptions, apply: true, cancellationToken).ConfigureAwait(false);
        await ApplyOrUndoAsync(() => store.DeleteAsync(checkedOptions.Hostname, CancellationToken.None), cancellationToken).ConfigureAwait(false);

        return WithCertificate((await ResolveAsync(cancellationToken).ConfigureAwait(false)).Single(route => route.Route.Hostname == checkedOptions.Hostname).Route);
    }

    public async Task<VmIngress> ValidateCreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken)
    {
        var checkedOptions = Check(options);
        await store.InsertAsync(checkedOptions, apply: false, cancellationToken).ConfigureAwait(false);
        var vm = await vms.GetAsync(checkedOptions.VmName, cancellationToken).ConfigureAwait(false);
        return ToIngress(new IngressRouteRow(checkedOptions.Hostname, vm.Name, checkedOptions.Port, checkedOptions.Tls, checkedOptions.Public), vm, isDefault: false);
    }

    public async Task<IReadOnlyList<VmIngress>> GetAllAsync(CancellationToken cancellationToken)
    {
        // Caddy takes an unchanged configuration as a no-op; a changed one brings new VMs' default routes, and a
        // Caddy that died is started again with its routes.
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return [.. (await ResolveAsync(cancellationToken).ConfigureAwait(false)).Select(resolved => WithCertificate(resolved.Route))];
    }

    public async Task<VmIngress> GetAsync(string hostname, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hostname);
        return (await GetAllAsync(cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(route => string.Equals(route.Hostname, hostname, StringComparison.OrdinalIgnoreCase))
            ?? throw IngressErrors.NotFound(hostname);
    }

    public async Task RemoveAsync(string hostname, CancellationToken cancellationToken)
    {
        var route = await GetAsync(hostname, cancellationToken).ConfigureAwait(false);
        if (route.IsDefault)
        {
            throw IngressErrors.DefaultRoute(route.Hostname);
        }

        using var ingressLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(route.Hostname, cancellationToken).ConfigureAwait(false);
        await ApplyAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SetDomainAsync(string? domain, CancellationToken cancellationToken)
    {
        var normalized = string.IsNullOrEmpty(domain) ? null : IngressHostnames.Normalize(domain);
        using var ingressLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        var previous = await store.GetDomainAsync(cancellationToken).ConfigureAwait(false);
        await store.SetDomainAsync(normalized, cancellationToken).ConfigureAwait(false);
        await ApplyOrUndoAsync(() => store.SetDomainAsync(previous, CancellationToken.None), cancellationToken).ConfigureAwait(false);
    }

    public async Task SetAcmeAsync(IngressAcmeSettings acme, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(acme);
        using var ingressLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        var previous = await store.GetAcmeAsync(cancellationToken).ConfigureAwait(false);
        await store.SetAcmeAsync(acme, cancellationToken).ConfigureAwait(false);
        await ApplyOrUndoAsync(() => store.SetAcmeAsync(previous, CancellationToken.None), cancellationToken).ConfigureAwait(false);
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (!caddy.WasStarted)
        {
            return;
        }

        using var ingressLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        await ApplyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Serves what is stored; when that fails, undoes the stored change and serves what was served before (Caddy was
    /// ended by the failure, so this starts it again with the previous routes), and throws the failure.
    /// </summary>
    private async Task ApplyOrUndoAsync(Func<Task> undo, CancellationToken cancellationToken)
    {
        try
        {
            await ApplyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
            await undo().ConfigureAwait(false);
            await ApplyAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Serves what is stored, the token checker running while a route is private; with no route left, Caddy is ended
    /// rather than kept idle.
    /// </summary>
    private async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var routes = await ResolveAsync(cancellationToken).ConfigureAwait(false);
        if (routes.Any(route => !route.Route.Public))
        {
            await checker.EnsureRunningAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await checker.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (routes.Count == 0)
        {
            await caddy.StopAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var acme = await store.GetAcmeAsync(cancellationToken).ConfigureAwait(false);
        await caddy.ApplyAsync(CaddyConfig.Build(layout, routes, acme), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stored routes first; then each VM's default route under the domain, unless a stored route has its name.</summary>
    private async Task<List<ResolvedRoute>> ResolveAsync(CancellationToken cancellationToken)
    {
        var all = await vms.GetAllAsync(cancellationToken).ConfigureAwait(false);
        var byName = all.ToDictionary(vm => vm.Name, StringComparer.OrdinalIgnoreCase);
        var routes = new List<ResolvedRoute>();
        foreach (var row in await store.GetAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (byName.TryGetValue(row.VmName, out var vm))
            {
                routes.Add(new ResolvedRoute(ToIngress(row, vm, isDefault: false), vm.IPAddress));
            }
        }

        if (await store.GetDomainAsync(cancellationToken).ConfigureAwait(false) is { } domain)
        {
            var taken = routes.Select(route => route.Route.Hostname).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var vm in all)
            {
                if (IngressHostnames.DefaultFor(vm.Name, domain) is { } hostname && taken.Add(hostname))
                {
                    routes.Add(new ResolvedRoute(ToIngress(new IngressRouteRow(hostname, vm.Name, DefaultPort, DefaultTls, Public: false), vm, isDefault: true), vm.IPAddress));
                }
            }
        }

        return [.. routes.OrderBy(route => route.Route.Hostname, StringComparer.Ordinal)];
    }

    private const int DefaultPort = 80;
    private const IngressTls DefaultTls = IngressTls.Internal;

    private VmIngress WithCertificate(VmIngress route) => route with { CertificateStatus = certificates.StatusOf(route.Hostname, route.Tls) };

    private static VmIngress ToIngress(IngressRouteRow row, VmInfo vm, bool isDefault) => new()
    {
        Hostname = row.Hostname,
        VmName = vm.Name,
        Port = row.Port,
        Tls = row.Tls,
        Public = row.Public,
        IsDefault = isDefault,
        VmState = vm.State,
    };

    private static VmIngressCreateOptions Check(VmIngressCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, 65535);
        return options with { Hostname = IngressHostnames.Normalize(options.Hostname) };
    }

    private Task<FileLock> LockAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.CreateDirectory(layout.Directory);
        return FileLock.AcquireAsync(layout.LockFile, FileLock.DefaultTimeout, cancellationToken);
    }
}
