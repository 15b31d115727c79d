using System.Net;

namespace VmPs.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Cloud Hypervisor answered a request with an error status. <see cref="Messages"/> is CH's own
/// error chain (outermost first), so users see what CH said.
/// </summary>
public sealed class CloudHypervisorApiException : VmPsException
{
    public const string RequestFailedErrorId = "CloudHypervisorRequestFailed";

    public CloudHypervisorApiException(string operation, HttpStatusCode statusCode, IReadOnlyList<string> messages, string socketPath)
        : base(
            RequestFailedErrorId,
            KindOf(statusCode),
            $"Cloud Hypervisor refused {operation} ({(int)statusCode} {statusCode}): {Describe(messages)}",
            socketPath)
    {
        Operation = operation;
        StatusCode = statusCode;
        Messages = messages;
    }

    /// <summary>The endpoint, for example "vm.boot".</summary>
    public string Operation { get; }

    public HttpStatusCode StatusCode { get; }

    public IReadOnlyList<string> Messages { get; }

    private static string Describe(IReadOnlyList<string> messages) =>
        messages.Count == 0 ? "no error text" : string.Join(": ", messages);

    private static VmPsErrorKind KindOf(HttpStatusCode statusCode) => statusCode switch
    {
        HttpStatusCode.BadRequest => VmPsErrorKind.InvalidArgument,
        HttpStatusCode.NotFound => VmPsErrorKind.ObjectNotFound,
        HttpStatusCode.Conflict => VmPsErrorKind.ResourceExists,
        _ => VmPsErrorKind.InvalidOperation,
    };
}
