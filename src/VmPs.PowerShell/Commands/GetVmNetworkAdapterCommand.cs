using System.Management.Automation;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets the network adapters of VMs (all VMs, those named, or VM objects piped in): TAP, MAC, address and
/// network. A VM without a network has no adapter and outputs nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmNetworkAdapter", DefaultParameterSetName = VmNameSet)]
[OutputType(typeof(NetworkAdapterInfo))]
public sealed class GetVmNetworkAdapterCommand : VmCmdlet
{
    private const string VmNameSet = "VmName";
    private const string InputObjectSet = "InputObject";

    [Parameter(Position = 0, ParameterSetName = VmNameSet, ValueFromPipeline = true)]
    [Alias("Name", "Vm")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[]? VmName { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo[] InputObject { get; set; } = [];

    protected override void ProcessRecord() =>
        ForEachTarget(ParameterSetName == InputObjectSet ? InputObject : null, VmName ?? ["*"], name =>
        {
            if (Await(cancellationToken => Manager.GetNetworkAdapterAsync(name, cancellationToken)) is { } adapter)
            {
                WriteTypedObject(adapter, PSTypeNames.VmNetworkAdapter);
            }
        });
}
