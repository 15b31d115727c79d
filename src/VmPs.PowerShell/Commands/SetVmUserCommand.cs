using System.Management.Automation;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>Renames a user or changes its e-mail address; what it owns and was granted stays with it.</summary>
[Cmdlet(VerbsCommon.Set, "VmUser", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmUser))]
public sealed class SetVmUserCommand : UserCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("User")]
    [UserName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmUser? InputObject { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NewName { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Email { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var options = new VmUserSetOptions { NewName = NewName, Email = Email };
        var name = InputObject?.Name ?? Name;
        ChangeUser(
            name,
            "Set VmPs user",
            new[] { NewName is null ? null : $"name {NewName}", Email is null ? null : $"e-mail {Email}" }.OfType<string>(),
            cancellationToken => Users.ValidateSetAsync(name, options, cancellationToken),
            cancellationToken => Users.SetAsync(name, options, cancellationToken),
            PassThru);
    }
}
