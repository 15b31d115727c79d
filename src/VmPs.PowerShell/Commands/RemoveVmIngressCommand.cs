using System.Management.Automation;
using VmPs.Core.Ingress;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops serving ingress routes and deletes them. A VM's default route under the ingress domain cannot be removed alone.</summary>
[Cmdlet(VerbsCommon.Remove, "VmIngress", SupportsShouldProcess = true, DefaultParameterSetName = HostnameSet)]
public sealed class RemoveVmIngressCommand : IngressCmdlet
{
    private const string HostnameSet = "Hostname";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = HostnameSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(IngressHostnameCompleter))]
    public string[] Hostname { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmIngress[] InputObject { get; set; } = [];

    protected override void ProcessRecord() =>
        ForEachRoute(ParameterSetName == InputObjectSet ? InputObject.Select(route => route.Hostname) : Hostname, hostname =>
        {
            if (ShouldProcess(hostname, "Remove ingress route"))
            {
                Await(cancellationToken => Ingress.RemoveAsync(hostname, cancellationToken));
            }
        });
}
