using System.Management.Automation;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops sharing VMs with a user (Grant-VmAccess undone); the VM's owner keeps it.</summary>
[Cmdlet(VerbsSecurity.Revoke, "VmAccess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RevokeVmAccessCommand : UserCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [VmName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] VmName { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string User { get; set; } = "";

    protected override void ProcessRecord() =>
        ForEachVm(VmName, vmName =>
        {
            Await(cancellationToken => Users.ValidateRevokeAccessAsync(vmName, User, cancellationToken));
            if (ShouldProcess(vmName, $"Revoke access of user '{User}'"))
            {
                Await(cancellationToken => Users.RevokeAccessAsync(vmName, User, cancellationToken));
            }
        });
}
