using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Shares VMs with a user who does not own them (ingress and the SSH gateway then let the user reach them).</summary>
[Cmdlet(VerbsSecurity.Grant, "VmAccess", SupportsShouldProcess = true)]
[OutputType(typeof(VmAccessGrant))]
public sealed class GrantVmAccessCommand : UserCmdlet
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
            var grant = Await(cancellationToken => Users.ValidateGrantAccessAsync(vmName, User, cancellationToken));
            if (ShouldProcess(vmName, $"Grant access to user '{grant.User}'"))
            {
                WriteTypedObject(Await(cancellationToken => Users.GrantAccessAsync(vmName, grant.User, cancellationToken)), PSTypeNames.VmAccessGrant);
            }
        });
}
