using System.Globalization;
using System.Management.Automation;
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

        ChangeUser(
            User,
            "Set quota",
            given.Select(pair => $"{pair.Key} {pair.Value?.ToString(CultureInfo.InvariantCulture) ?? "none"}"),
            cancellationToken => Users.ValidateSetQuotaAsync(User, given, cancellationToken),
            cancellationToken => Users.SetQuotaAsync(User, given, cancellationToken),
            PassThru);
    }
}
