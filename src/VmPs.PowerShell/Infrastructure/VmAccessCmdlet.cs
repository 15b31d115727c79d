using System.Management.Automation;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of Grant-VmAccess and Revoke-VmAccess: the VMs (names, wildcards, VM objects) and the user.</summary>
public abstract class VmAccessCmdlet : UserCmdlet
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
}
