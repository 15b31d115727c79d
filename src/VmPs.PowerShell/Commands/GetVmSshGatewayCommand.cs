using System.Management.Automation;
using VmPs.Core.SshGateway;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>The SSH gateway: whether it runs, its port and host key. A gateway whose sshd died is started again first.</summary>
[Cmdlet(VerbsCommon.Get, "VmSshGateway")]
[OutputType(typeof(SshGatewayInfo))]
public sealed class GetVmSshGatewayCommand : AsyncCmdlet
{
    protected override void ProcessRecord() => WriteTypedObject(Await(Services.SshGateway.GetAsync), PSTypeNames.SshGateway);
}
