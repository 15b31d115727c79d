using System.Management.Automation;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Core's progress reports as Write-Progress records, in the pipeline and in jobs alike.</summary>
internal static class ProgressRecords
{
    private const int ActivityId = 1;

    public static ProgressRecord From(string activity, VmProgress update) =>
        new(ActivityId, string.IsNullOrWhiteSpace(update.Activity) ? activity : update.Activity, string.IsNullOrWhiteSpace(update.Status) ? activity : update.Status)
        {
            PercentComplete = Math.Clamp(update.PercentComplete, -1, 100),
        };

    public static ProgressRecord Completed(string activity) => new(ActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed };
}
