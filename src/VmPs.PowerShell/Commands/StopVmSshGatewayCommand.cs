using System.Management.Automation;
using VmPs.Core.SshGateway;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops the SSH gateway's sshd; it stays stopped (no call starts it again) until Start-VmSshGateway.</summary>
[Cmdlet(VerbsLifecycle.Stop, "VmSshGateway", SupportsShouldProcess = true)]
[OutputType(typeof(SshGatewayInfo))]
public sealed class StopVmSshGatewayCommand : AsyncCmdlet
{
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ShouldProcess("SSH gateway", "Stop"))
        {
            var gateway = Await(Services.SshGateway.StopAsync);
            if (PassThru)
            {
                WriteTypedObject(gateway, PSTypeNames.SshGateway);
            }
        }
    }
}
