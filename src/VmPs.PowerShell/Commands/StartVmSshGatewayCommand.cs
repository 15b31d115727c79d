using System.Management.Automation;
using VmPs.Core.SshGateway;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Starts the SSH gateway: VmPs's own sshd, through which users reach VMs with their keys (ssh vmps@HOST for commands,
/// ssh NAME@HOST for a VM's shell). A running gateway with other settings is started again with these.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "VmSshGateway", SupportsShouldProcess = true)]
[OutputType(typeof(SshGatewayInfo))]
public sealed class StartVmSshGatewayCommand : AsyncCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = SshGatewayStartOptions.DefaultPort;

    /// <summary>An IP address of this host; every IPv4 address when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ListenAddress { get; set; }

    protected override void ProcessRecord()
    {
        var options = new SshGatewayStartOptions { Port = Port, ListenAddress = ListenAddress };
        try
        {
            Services.SshGateway.ValidateStart(options);
            if (ShouldProcess($"{ListenAddress ?? "0.0.0.0"} port {Port}", "Start SSH gateway"))
            {
                WriteTypedObject(Await(cancellationToken => Services.SshGateway.StartAsync(options, cancellationToken)), PSTypeNames.SshGateway);
            }
        }
        catch (Core.VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
