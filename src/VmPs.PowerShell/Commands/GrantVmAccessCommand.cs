using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Shares VMs with a user who does not own them (ingress and the SSH gateway then let the user reach them).</summary>
[Cmdlet(VerbsSecurity.Grant, "VmAccess", SupportsShouldProcess = true)]
[OutputType(typeof(VmAccessGrant))]
public sealed class GrantVmAccessCommand : VmAccessCmdlet
{
    protected override void ProcessRecord() =>
        ForEachVm(VmName, vmName =>
        {
            var grant = Await(cancellationToken => Users.ValidateGrantAccessAsync(vmName, User, cancellationToken));
            if (ShouldProcess(vmName, $"Grant access to user '{grant.User}'"))
            {
                WriteTypedObject(Await(cancellationToken => Users.GrantAccessAsync(vmName, grant.User, cancellationToken)), PSTypeNames.VmAccessGrant);
            }
        });
}
