using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops publishing a VM's port: its rules are deleted and the host port is free again.</summary>
[Cmdlet(VerbsCommon.Remove, "VmPortMapping", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmPortMappingCommand : VmPortCmdlet
{
    protected override void Process(VmInfo vm)
    {
        if (ShouldProcess(vm.Name, $"Unpublish host port {HostPort}/{ProtocolName}"))
        {
            Await(cancellationToken => Manager.RemovePortMappingAsync(vm.Id, Protocol, HostPort, cancellationToken));
        }
    }
}
