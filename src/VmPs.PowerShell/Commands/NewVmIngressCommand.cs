using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Ingress;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Routes a host name to a port of a VM through VmPs's own Caddy, HTTPS with the ingress's own CA by default. Private
/// routes (the default) let in only the VM's owner and the users it is shared with, by token; -Public lets anyone in.
/// Every check runs before ShouldProcess; when Caddy refuses the route (a port in use) it is not kept.
/// </summary>
[Cmdlet(VerbsCommon.New, "VmIngress", SupportsShouldProcess = true)]
[OutputType(typeof(VmIngress))]
public sealed class NewVmIngressCommand : IngressCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [VmName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string VmName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Hostname { get; set; } = "";

    /// <summary>The VM's port requests go to.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = 80;

    [Parameter]
    public IngressTls Tls { get; set; } = IngressTls.Internal;

    /// <summary>Anyone may reach the route, without a token.</summary>
    [Parameter]
    public SwitchParameter Public { get; set; }

    protected override void ProcessRecord()
    {
        var options = new VmIngressCreateOptions { VmName = VmName, Hostname = Hostname, Port = Port, Tls = Tls, Public = Public };
        try
        {
            var route = Await(cancellationToken => Ingress.ValidateCreateAsync(options, cancellationToken));
            if (ShouldProcess(route.Hostname, $"Route {route.Url} to port {route.Port} of VM '{route.VmName}' ({(route.Public ? "public" : "private")})"))
            {
                WriteIngress(Await(cancellationToken => Ingress.CreateAsync(options, cancellationToken)));
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
