namespace VmPs.Core.Ingress;

/// <summary>
/// The operations behind New-/Get-/Remove-VmIngress and Set-VmHost -IngressDomain: routes stored in the state
/// database and served by VmPs's own Caddy. <see cref="IngressManager"/> is the real one.
/// </summary>
public interface IIngressManager
{
    /// <summary>Stores the route and serves it; when Caddy refuses (a port in use) the route is not kept.</summary>
    Task<VmIngress> CreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken);

    /// <summary>Every check of <see cref="CreateAsync"/> short of storing the route (New-VmIngress -WhatIf); returns the route as it would be.</summary>
    Task<VmIngress> ValidateCreateAsync(VmIngressCreateOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// The stored routes and the default route of each VM under the ingress domain, served as read (a Caddy that died
    /// is started again, new VMs' default routes are added).
    /// </summary>
    Task<IReadOnlyList<VmIngress>> GetAllAsync(CancellationToken cancellationToken);

    /// <summary>The route with this host name; throws IngressNotFound.</summary>
    Task<VmIngress> GetAsync(string hostname, CancellationToken cancellationToken);

    /// <summary>Stops serving and deletes a stored route (IngressRouteIsDefault for a default route).</summary>
    Task RemoveAsync(string hostname, CancellationToken cancellationToken);

    /// <summary>Sets (null: clears) the ingress domain and serves the routes it makes; nothing changes when Caddy refuses.</summary>
    Task SetDomainAsync(string? domain, CancellationToken cancellationToken);

    /// <summary>Sets the ACME CA of -Tls Acme routes (checked by <see cref="IngressAcme.Create"/>); nothing changes when Caddy refuses.</summary>
    Task SetAcmeAsync(IngressAcmeSettings acme, CancellationToken cancellationToken);

    /// <summary>Serves the routes as stored now (a VM made or removed), when the ingress is in use; otherwise nothing.</summary>
    Task RefreshAsync(CancellationToken cancellationToken);
}
