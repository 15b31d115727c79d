using VmPs.Core;
using VmPs.Core.Ingress;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the ingress cmdlets: the ingress manager and host name patterns.</summary>
public abstract class IngressCmdlet : AsyncCmdlet
{
    protected IIngressManager Ingress => Services.Ingress;

    protected void WriteIngress(VmIngress route) => WriteTypedObject(route, PSTypeNames.VmIngress);

    /// <summary>The routes whose host names match a wildcard pattern, case-insensitively, in host name order.</summary>
    protected IEnumerable<VmIngress> MatchingRoutes(string pattern) =>
        NamePatterns.Matching(Await(Ingress.GetAllAsync), route => route.Hostname, pattern);

    /// <summary>Runs <paramref name="process"/> for each route named (wildcards expand; a literal unknown name is IngressNotFound, before any action).</summary>
    protected void ForEachRoute(IEnumerable<string> hostnames, Action<string> process) =>
        ForEachNamed(
            hostnames,
            pattern => MatchingRoutes(pattern).Select(route => route.Hostname),
            hostname => Await(cancellationToken => Ingress.GetAsync(hostname, cancellationToken)).Hostname,
            process);
}
