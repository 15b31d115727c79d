using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Adds OpenSSH public keys to a user (Get-Content ~/.ssh/id_ed25519.pub | Add-VmUserKey -User alice). A key identifies one user.</summary>
[Cmdlet(VerbsCommon.Add, "VmUserKey", SupportsShouldProcess = true)]
[OutputType(typeof(VmUserKey))]
public sealed class AddVmUserKeyCommand : UserCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string User { get; set; } = "";

    /// <summary>Public keys as authorized_keys lines ("ssh-ed25519 AAAA... comment").</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] SshPublicKey { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var key in SshPublicKey)
        {
            try
            {
                var parsed = Core.Access.SshPublicKey.Parse(key);
                var user = Await(cancellationToken => Users.GetAsync(User, cancellationToken)).Name;
                if (ShouldProcess(user, $"Add SSH key {parsed.Type} {parsed.Fingerprint}"))
                {
                    WriteTypedObject(Await(cancellationToken => Users.AddKeyAsync(user, key, cancellationToken)), PSTypeNames.VmUserKey);
                }
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
