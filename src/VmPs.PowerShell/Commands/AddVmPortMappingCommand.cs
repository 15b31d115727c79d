using System.Management.Automation;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Publishes a VM's port on the host: connections to the host port (on every host address, or on
/// -HostAddress) reach the VM's port, from other hosts and from the host itself (127.0.0.1 and
/// the gateway address included).
/// </summary>
[Cmdlet(VerbsCommon.Add, "VmPortMapping", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(PortMappingInfo))]
public sealed class AddVmPortMappingCommand : VmPortCmdlet
{
    /// <summary>The port in the VM; default: the same as the host port.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int? VmPort { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? HostAddress { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void Process(VmInfo vm)
    {
        var options = new PortMappingOptions { HostPort = HostPort, VmPort = VmPort ?? HostPort, Protocol = Protocol, HostAddress = HostAddress };
        Await(cancellationToken => Manager.ValidatePortMappingAsync(vm.Id, options, cancellationToken));
        if (!ShouldProcess(vm.Name, $"Publish port {options.VmPort} on host {HostAddress ?? "*"}:{HostPort}/{ProtocolName}"))
        {
            return;
        }

        var mapping = Await(cancellationToken => Manager.AddPortMappingAsync(vm.Id, options, cancellationToken));
        if (PassThru)
        {
            WritePortMapping(mapping);
        }
    }
}
