using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Creates a VmPs user: a name, an e-mail address and optionally SSH public keys, with no quota limits.</summary>
[Cmdlet(VerbsCommon.New, "VmUser", SupportsShouldProcess = true)]
[OutputType(typeof(VmUser))]
public sealed class NewVmUserCommand : UserCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Email { get; set; } = "";

    /// <summary>OpenSSH public keys (authorized_keys lines) the user logs in with.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? SshPublicKey { get; set; }

    protected override void ProcessRecord()
    {
        var options = new VmUserCreateOptions { Name = Name, Email = Email, SshPublicKeys = SshPublicKey ?? [] };
        try
        {
            Await(cancellationToken => Users.ValidateCreateAsync(options, cancellationToken));
            if (ShouldProcess($"{Name} <{Email}>", "Create VmPs user"))
            {
                WriteUser(Await(cancellationToken => Users.CreateAsync(options, cancellationToken)));
            }
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }
}
