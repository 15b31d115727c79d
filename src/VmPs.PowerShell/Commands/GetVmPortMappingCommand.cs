using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Gets published ports: every VM's, or those of the VMs given by name (wildcards allowed) or as objects.</summary>
[Cmdlet(VerbsCommon.Get, "VmPortMapping", DefaultParameterSetName = NameSet)]
[OutputType(typeof(PortMappingInfo))]
public sealed class GetVmPortMappingCommand : NetworkCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Name")]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[]? VmName { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo[] InputObject { get; set; } = [];

    protected override void ProcessRecord()
    {
        try
        {
            if (ParameterSetName == NameSet && VmName is null)
            {
                WriteMappings(null);
                return;
            }

            foreach (var vm in TargetVms(ParameterSetName == InputObjectSet ? InputObject : null, VmName ?? []))
            {
                WriteMappings(vm.Id);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private void WriteMappings(Guid? vmId)
    {
        foreach (var mapping in Await(cancellationToken => Manager.GetPortMappingsAsync(vmId, cancellationToken)))
        {
            WritePortMapping(mapping);
        }
    }
}
