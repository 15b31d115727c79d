using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Ingress;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets the ingress routes, all of them or those named (wildcards allowed), or those of some VMs: the stored routes and
/// each VM's default route under the ingress domain. A Caddy that died is started again, with its routes.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmIngress", DefaultParameterSetName = HostnameSet)]
[OutputType(typeof(VmIngress))]
public sealed class GetVmIngressCommand : IngressCmdlet
{
    private const string HostnameSet = "Hostname";
    private const string VmNameSet = "VmName";

    [Parameter(Position = 0, ParameterSetName = HostnameSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(IngressHostnameCompleter))]
    public string[]? Hostname { get; set; }

    /// <summary>The routes to these VMs (wildcards allowed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = VmNameSet, ValueFromPipeline = true)]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VmName { get; set; } = [];

    protected override void ProcessRecord()
    {
        try
        {
            if (ParameterSetName == VmNameSet)
            {
                var patterns = VmName.Select(name => new WildcardPattern(name, WildcardOptions.IgnoreCase)).ToList();
                foreach (var route in Await(Ingress.GetAllAsync).Where(route => patterns.Any(pattern => pattern.IsMatch(route.VmName))))
                {
                    WriteIngress(route);
                }

                return;
            }

            foreach (var pattern in Hostname ?? ["*"])
            {
                try
                {
                    var routes = WildcardPattern.ContainsWildcardCharacters(pattern)
                        ? MatchingRoutes(pattern)
                        : [Await(cancellationToken => Ingress.GetAsync(pattern, cancellationToken))];
                    foreach (var route in routes)
                    {
                        WriteIngress(route);
                    }
                }
                catch (VmPsException exception)
                {
                    WriteError(exception);
                }
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
