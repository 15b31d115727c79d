using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>The VmPsExceptions of the agent client, in one place so their ids stay consistent.</summary>
internal static class AgentErrors
{
    public static VmPsException ConnectionLost(string detail, Exception? inner = null) =>
        new(VmPsErrorIds.AgentConnectionLost, VmPsErrorKind.ConnectionError, $"The connection to the guest agent was lost: {detail}", inner: inner)
        {
            RecommendedAction = "Check that the VM is still running (Get-Vm) and retry.",
        };

    /// <summary>A reply the agent owes did not come: its process died or the guest hangs (the transport may stay open).</summary>
    public static VmPsException NotResponding(string what, TimeSpan waited) =>
        new(VmPsErrorIds.AgentNotResponding, VmPsErrorKind.OperationTimeout, $"The guest agent did not answer {what}: it sent nothing for {waited.TotalSeconds:0.#} s.")
        {
            RecommendedAction = "Check that the VM is running and booted (Get-Vm, Get-VmLog); restart it if its agent is gone.",
        };

    public static VmPsException ProtocolError(string detail, Exception? inner = null) =>
        new(VmPsErrorIds.AgentProtocolError, VmPsErrorKind.ProtocolError, $"The guest agent sent something this host does not understand: {detail}", inner: inner);

    public static VmPsException VersionMismatch(int agentProtocol, string agentVersion) =>
        new(
            VmPsErrorIds.AgentVersionMismatch,
            VmPsErrorKind.ProtocolError,
            $"The guest agent speaks protocol version {agentProtocol} (VmPs {agentVersion}) but this host speaks {Protocol.ProtocolInfo.Version} (VmPs {Protocol.ProtocolInfo.ProductVersion}).")
        {
            RecommendedAction = "Restart the VM so it boots with the initrd of this VmPs version.",
        };

    /// <summary>A command passed its timeout; it was killed with everything it started.</summary>
    public static VmPsException ExecTimedOut(IReadOnlyList<string> command, TimeSpan limit, string? vmName) =>
        new(
            VmPsErrorIds.AgentExecTimeout,
            VmPsErrorKind.OperationTimeout,
            $"'{string.Join(' ', command)}' did not finish within {limit.TotalSeconds:0.###} s{(vmName is null ? "" : $" in VM '{vmName}'")} and was killed.",
            vmName ?? string.Join(' ', command));

    /// <summary>A buffered command's stdout or stderr passed its limit; the command was killed.</summary>
    public static VmPsException OutputTooLarge(AgentOutputStream stream, long limit, IReadOnlyList<string> command, string? vmName) =>
        new(
            VmPsErrorIds.GuestOutputTooLarge,
            VmPsErrorKind.LimitsExceeded,
            $"'{string.Join(' ', command)}' wrote more than {limit} bytes to {(stream == AgentOutputStream.Stdout ? "stdout" : "stderr")}{(vmName is null ? "" : $" in VM '{vmName}'")} and was stopped: a buffered result holds at most that much per stream.",
            vmName ?? string.Join(' ', command))
        {
            RecommendedAction = "Use -Stream to receive output of any size line by line, raise -MaxOutputBytes, or redirect the output to a file in the guest and copy it with Copy-VmFile.",
        };

    /// <summary>Maps an error the agent reported for a request to a specific VmPsException.</summary>
    public static VmPsException FromAgent(ErrorMessage error) => error.Code switch
    {
        ErrorCodes.CommandNotFound => new(VmPsErrorIds.GuestCommandNotFound, VmPsErrorKind.ObjectNotFound, error.Message),
        ErrorCodes.UserNotFound => new(VmPsErrorIds.GuestUserNotFound, VmPsErrorKind.ObjectNotFound, error.Message),
        ErrorCodes.BadRequest => new(VmPsErrorIds.GuestBadRequest, VmPsErrorKind.InvalidArgument, error.Message),
        ErrorCodes.Unsupported => new(VmPsErrorIds.GuestOperationNotSupported, VmPsErrorKind.NotImplemented, error.Message),
        ErrorCodes.ProtocolVersionMismatch => new(VmPsErrorIds.AgentVersionMismatch, VmPsErrorKind.ProtocolError, error.Message),
        NetworkErrorCodes.InterfaceNotFound => new(VmPsErrorIds.GuestNetworkInterfaceNotFound, VmPsErrorKind.ObjectNotFound, error.Message),
        NetworkErrorCodes.ConfigureFailed => new(VmPsErrorIds.GuestNetworkConfigureFailed, VmPsErrorKind.InvalidOperation, error.Message),
        VolumeErrorCodes.DiskNotFound => new(VmPsErrorIds.GuestVolumeDiskNotFound, VmPsErrorKind.ObjectNotFound, error.Message),
        VolumeErrorCodes.MountFailed => new(VmPsErrorIds.GuestVolumeMountFailed, VmPsErrorKind.InvalidOperation, error.Message),
        VolumeErrorCodes.Busy => new(VmPsErrorIds.GuestVolumeBusy, VmPsErrorKind.ResourceUnavailable, error.Message),
        _ => new(VmPsErrorIds.GuestExecFailed, VmPsErrorKind.InvalidOperation, $"{error.Message} ({error.Code})"),
    };
}
