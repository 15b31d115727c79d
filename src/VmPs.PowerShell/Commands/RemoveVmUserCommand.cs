using System.Management.Automation;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes users with their SSH keys, tokens and VM grants. Asks first (ConfirmImpact High); -Force does not ask. A
/// user who still owns VMs, volumes or images is refused (UserOwnsResources), with or without -Force.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmUserCommand : UserCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("User")]
    [UserName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmUser[] InputObject { get; set; } = [];

    /// <summary>Remove without asking.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord() =>
        ForEachUser(ParameterSetName == InputObjectSet ? InputObject : null, Name, name =>
        {
            if (ShouldProcess(name, "Remove VmPs user with its keys, tokens and VM grants", Force))
            {
                Await(cancellationToken => Users.RemoveAsync(name, cancellationToken));
            }
        });
}
