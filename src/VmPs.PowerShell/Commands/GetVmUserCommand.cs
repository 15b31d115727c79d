using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Gets VmPs users, all of them or those named (wildcards allowed), with their keys, quota and use.</summary>
[Cmdlet(VerbsCommon.Get, "VmUser")]
[OutputType(typeof(VmUser))]
public sealed class GetVmUserCommand : UserCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [Alias("User")]
    [UserName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var pattern in Name ?? ["*"])
        {
            try
            {
                var users = WildcardPattern.ContainsWildcardCharacters(pattern)
                    ? MatchingUsers(pattern)
                    : [Await(cancellationToken => Users.GetAsync(pattern, cancellationToken))];
                foreach (var user in users)
                {
                    WriteUser(user);
                }
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
