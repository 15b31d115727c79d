using System.Management.Automation;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Stops sharing VMs with a user (Grant-VmAccess undone); the VM's owner keeps it.</summary>
[Cmdlet(VerbsSecurity.Revoke, "VmAccess", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RevokeVmAccessCommand : VmAccessCmdlet
{
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
