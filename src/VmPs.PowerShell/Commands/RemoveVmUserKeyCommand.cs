using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>Removes SSH keys from a user, given by fingerprint (SHA256:...), as public key lines, or as key objects ((Get-VmUser alice).SshKeys).</summary>
[Cmdlet(VerbsCommon.Remove, "VmUserKey", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = KeySet)]
public sealed class RemoveVmUserKeyCommand : UserCmdlet
{
    private const string KeySet = "Key";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = KeySet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string User { get; set; } = "";

    /// <summary>Fingerprints (SHA256:...) or public key lines.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = KeySet, ValueFromPipeline = true)]
    [Alias("Fingerprint")]
    [ValidateNotNullOrEmpty]
    public string[] Key { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmUserKey[] InputObject { get; set; } = [];

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var keys = ParameterSetName == InputObjectSet ? InputObject.Select(key => (key.User, key.Fingerprint)) : Key.Select(key => (User, key));
        foreach (var (userName, key) in keys)
        {
            try
            {
                var fingerprint = Await(cancellationToken => Users.ValidateRemoveKeyAsync(userName, key, cancellationToken));
                if (ShouldProcess(userName, $"Remove SSH key {fingerprint}", Force))
                {
                    Await(cancellationToken => Users.RemoveKeyAsync(userName, fingerprint, cancellationToken));
                }
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
