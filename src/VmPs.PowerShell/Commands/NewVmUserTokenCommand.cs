using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Makes a new access token for a user (ingress: a bearer token or the password of basic auth). The token is output
/// this once: only its hash is stored, so it cannot be shown again.
/// </summary>
[Cmdlet(VerbsCommon.New, "VmUserToken", SupportsShouldProcess = true)]
[OutputType(typeof(VmUserToken))]
public sealed class NewVmUserTokenCommand : UserCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [UserName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string User { get; set; } = "";

    protected override void ProcessRecord()
    {
        try
        {
            var user = Await(cancellationToken => Users.GetAsync(User, cancellationToken));
            if (ShouldProcess(user.Name, "Create access token"))
            {
                WriteTypedObject(Await(cancellationToken => Users.NewTokenAsync(user.Name, cancellationToken)), PSTypeNames.VmUserToken);
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
