using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Network;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Base of the cmdlets that change one published port of one VM (Add-/Remove-VmPortMapping): the VM by
/// name or object, the host port and protocol. Errors of one VM are written and the pipeline goes on.
/// </summary>
public abstract class VmPortCmdlet : NetworkCmdlet
{
    protected const string NameSet = "Name";
    protected const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Name")]
    [VmName]
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

    protected string ProtocolName => Protocol.ToString().ToLowerInvariant();

    protected override void ProcessRecord()
    {
        try
        {
            Process(InputObject ?? GetVm(VmName));
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    protected abstract void Process(VmInfo vm);
}
