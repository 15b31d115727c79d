using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops publishing a VM's port: its rules are deleted and the host port is free again.</summary>
[Cmdlet(VerbsCommon.Remove, "VmPortMapping", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmPortMappingCommand : NetworkCmdlet
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

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public PortProtocol Protocol { get; set; } = PortProtocol.Tcp;

    protected override void ProcessRecord()
    {
        try
        {
            var vm = InputObject ?? GetVm(VmName);
            if (ShouldProcess(vm.Name, $"Unpublish host port {HostPort}/{Protocol.ToString().ToLowerInvariant()}"))
            {
                Await(cancellationToken => Manager.RemovePortMappingAsync(vm.Id, Protocol, HostPort, cancellationToken));
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
