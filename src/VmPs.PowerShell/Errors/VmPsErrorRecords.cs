using System.Management.Automation;
using VmPs.Core;

namespace VmPs.PowerShell.Errors;

/// <summary>The one place a <see cref="VmPsException"/> becomes an ErrorRecord.</summary>
internal static class VmPsErrorRecords
{
    /// <summary>
    /// FullyQualifiedErrorId becomes "ErrorId,CmdletType" once PowerShell writes the record, so scripts
    /// can match on Core's stable ErrorId.
    /// </summary>
    public static ErrorRecord ToErrorRecord(this VmPsException exception)
    {
        var category = Enum.Parse<ErrorCategory>(ErrorCategoryMap.CategoryName(exception.Kind));
        return new ErrorRecord(exception, exception.ErrorId, category, exception.Target)
        {
            ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = exception.RecommendedAction },
        };
    }
}
