using System.Management.Automation;
using VmPs.Core;

namespace VmPs.PowerShell.Errors;

/// <summary>
/// Maps Core's error kinds onto PowerShell's ErrorCategory. It yields category names (checked at
/// compile time through nameof) so the mapping can be exercised where System.Management.Automation
/// cannot be loaded, such as the xunit tests.
/// </summary>
internal static class ErrorCategoryMap
{
    public static string CategoryName(VmPsErrorKind kind) => kind switch
    {
        VmPsErrorKind.InvalidArgument => nameof(ErrorCategory.InvalidArgument),
        VmPsErrorKind.InvalidData => nameof(ErrorCategory.InvalidData),
        VmPsErrorKind.ObjectNotFound => nameof(ErrorCategory.ObjectNotFound),
        VmPsErrorKind.ResourceExists => nameof(ErrorCategory.ResourceExists),
        VmPsErrorKind.InvalidOperation => nameof(ErrorCategory.InvalidOperation),
        VmPsErrorKind.NotInstalled => nameof(ErrorCategory.NotInstalled),
        VmPsErrorKind.ResourceUnavailable => nameof(ErrorCategory.ResourceUnavailable),
        VmPsErrorKind.OperationTimeout => nameof(ErrorCategory.OperationTimeout),
        VmPsErrorKind.ConnectionError => nameof(ErrorCategory.ConnectionError),
        VmPsErrorKind.ProtocolError => nameof(ErrorCategory.ProtocolError),
        VmPsErrorKind.PermissionDenied => nameof(ErrorCategory.PermissionDenied),
        VmPsErrorKind.NotImplemented => nameof(ErrorCategory.NotImplemented),
        VmPsErrorKind.OperationStopped => nameof(ErrorCategory.OperationStopped),
        VmPsErrorKind.LimitsExceeded => nameof(ErrorCategory.LimitsExceeded),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No ErrorCategory for this error kind."),
    };
}
