using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Access;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Sets a user's limits: the limits given change ($null: no limit), the others stay. A limit below the current use is
/// allowed: what the user holds stays, and only what would add to it is refused (QuotaExceeded).
/// </summary>
[Cmdlet(VerbsCommon.Set, "VmQuota", SupportsShouldProcess = true)]
[OutputType(typeof(VmUser))]
public sealed class SetVmQuotaCommand : UserCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [UserName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string User { get; set; } = "";

    [Parameter]
    [AllowNull]
    public int? MaxVms { get; set; }

    [Parameter]
    [AllowNull]
    public int? MaxCpus { get; set; }

    [Parameter]
    [AllowNull]
    public int? MaxMemoryMiB { get; set; }

    [Parameter]
    [AllowNull]
    public int? MaxDiskGiB { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var given = new Dictionary<VmQuotaLimit, int?>();
        foreach (var (limit, value) in new[] { (VmQuotaLimit.MaxVms, MaxVms), (VmQuotaLimit.MaxCpus, MaxCpus), (VmQuotaLimit.MaxMemoryMiB, MaxMemoryMiB), (VmQuotaLimit.MaxDiskGiB, MaxDiskGiB) })
        {
            if (MyInvocation.BoundParameters.ContainsKey(limit.ToString()))
            {
                given[limit] = value;
            }
        }

        try
        {
            var user = Await(cancellationToken => Users.ValidateSetQuotaAsync(User, given, cancellationToken));
            var changes = string.Join(", ", given.Select(pair => $"{pair.Key} {pair.Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}"));
            if (!ShouldProcess(user.Name, $"Set quota ({(changes.Length > 0 ? changes : "no change")})"))
            {
                return;
            }

            user = Await(cancellationToken => Users.SetQuotaAsync(user.Name, given, cancellationToken));
            if (PassThru)
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
