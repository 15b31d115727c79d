namespace VmPs.Core;

/// <summary>
/// The kind of failure, mapped one-to-one onto PowerShell's ErrorCategory by the cmdlet layer.
/// Core has no PowerShell dependency, so it names the categories it needs here.
/// </summary>
public enum VmPsErrorKind
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    ResourceExists,
    InvalidOperation,
    NotInstalled,
    ResourceUnavailable,
    OperationTimeout,
    ConnectionError,
    ProtocolError,
    PermissionDenied,
    NotImplemented,
    OperationStopped,

    /// <summary>Untrusted input claimed more than a documented limit allows.</summary>
    LimitsExceeded,
}

/// <summary>
/// Every failure Core reports to a user. <see cref="ErrorId"/> becomes the FullyQualifiedErrorId
/// prefix of the ErrorRecord, so it must be stable and specific (for example "VmNotFound").
/// </summary>
public class VmPsException : Exception
{
    public VmPsException(string errorId, VmPsErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }

    public VmPsErrorKind Kind { get; }

    /// <summary>The object the error is about (a VM name, an image name, a path), for ErrorRecord.TargetObject.</summary>
    public object? Target { get; }

    /// <summary>What the user can do about it, shown as the ErrorRecord's RecommendedAction.</summary>
    public string? RecommendedAction { get; init; }
}
