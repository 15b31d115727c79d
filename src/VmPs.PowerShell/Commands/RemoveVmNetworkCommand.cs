using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes VM networks: bridge, rules and record. A network VMs use is refused unless -Force,
/// which first detaches those VMs (their adapters, TAPs and published ports go; they keep running).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmNetworkCommand : NetworkCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Network")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public NetworkInfo[] InputObject { get; set; } = [];

    /// <summary>Remove the network even though VMs use it, detaching them.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var name in TargetNetworkNames(ParameterSetName == InputObjectSet ? InputObject : null, Name))
        {
            if (!ShouldProcess(name, Force ? "Remove VM network (detaching the VMs on it)" : "Remove VM network"))
            {
                continue;
            }

            try
            {
                Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
