using System.Management.Automation;
using VmPs.Core.Network;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes VM networks: bridge, rules and record. Asks first (ConfirmImpact High, as Hyper-V's Remove-VMSwitch); -Force
/// does not ask and detaches the VMs on the network first (their adapters, TAPs and published ports go; they keep
/// running), which is otherwise refused.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmNetworkCommand : NetworkCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Network")]
    [NetworkName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public NetworkInfo[] InputObject { get; set; } = [];

    /// <summary>Remove without asking, detaching the VMs on the network.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() =>
        ForEachNetwork(ParameterSetName == InputObjectSet ? InputObject : null, Name, name =>
        {
            if (ShouldProcess(name, Force ? "Remove VM network (detaching the VMs on it)" : "Remove VM network", Force))
            {
                Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            }
        });
}
