using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Publishes a VM's port on the host: connections to the host port (on every host address, or on
/// -HostAddress) reach the VM's port, from other hosts and from the host itself (127.0.0.1 and
/// the gateway address included).
/// </summary>
[Cmdlet(VerbsCommon.Add, "VmPortMapping", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(PortMappingInfo))]
public sealed class AddVmPortMappingCommand : NetworkCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string VmName { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmInfo? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int HostPort { get; set; }

    /// <summary>The port in the VM; default: the same as the host port.</summary>
    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int? VmPort { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PortProtocol Protocol { get; set; } = PortProtocol.Tcp;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? HostAddress { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var vm = InputObject ?? GetVm(VmName);
            var options = new PortMappingOptions { HostPort = HostPort, VmPort = VmPort ?? HostPort, Protocol = Protocol, HostAddress = HostAddress };
            var target = $"{HostAddress ?? "*"}:{HostPort}/{Protocol.ToString().ToLowerInvariant()}";
            if (!ShouldProcess(vm.Name, $"Publish port {options.VmPort} on host {target}"))
            {
                return;
            }

            var mapping = Await(cancellationToken => Manager.AddPortMappingAsync(vm.Id, options, cancellationToken));
            if (PassThru)
            {
                WritePortMapping(mapping);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
