namespace VmPs.Protocol.Messages;

/// <summary>First frame of a connection, host to guest. The nonce identifies this connection's answer on a shared stream.</summary>
public sealed record HelloMessage(int ProtocolVersion, string Nonce, string HostVersion);

/// <summary>The guest's answer to <see cref="HelloMessage"/>, echoing its nonce.</summary>
public sealed record HelloAckMessage(int ProtocolVersion, string Nonce, string AgentVersion);

/// <summary>Why a request failed; <see cref="Code"/> is one of <see cref="ErrorCodes"/>.</summary>
public sealed record ErrorMessage(string Code, string Message);

/// <summary>
/// The agent's answer to a ping: its version, the guest's uptime and, from agents that read it, the guest kernel's
/// MemTotal and MemAvailable in bytes (see <see cref="Metering.MemInfo"/>; null from older agents).
/// </summary>
public sealed record PongMessage(string AgentVersion, double UptimeSeconds, long? MemoryTotalBytes = null, long? MemoryAvailableBytes = null);

/// <summary>
/// Starts a process. <see cref="Environment"/> entries are KEY=VALUE and override the guest's base environment;
/// <see cref="User"/> is "name", "uid", "name:group" or "uid:gid" resolved in the guest's /etc/passwd and /etc/group.
/// With <see cref="Tty"/> the process gets a pseudo-terminal of <see cref="TerminalSize"/> (80x24 when null)
/// as its controlling terminal and fds 0-2; its output then arrives as Stdout only.
/// </summary>
public sealed record ExecStartMessage(
    IReadOnlyList<string> Argv,
    IReadOnlyList<string>? Environment = null,
    string? WorkingDirectory = null,
    string? User = null,
    bool Tty = false,
    TerminalSizeMessage? TerminalSize = null);

public sealed record ExecStartedMessage(int Pid);

/// <summary>How an exec ended: an exit code, or the signal that terminated it.</summary>
public sealed record ExecExitMessage(int? ExitCode, int? Signal);

/// <summary>Signals an exec's process, or with <see cref="ProcessGroup"/> every process of its session's group.</summary>
public sealed record SignalMessage(int Signal, bool ProcessGroup = false);

/// <summary>Powers the guest off (or reboots it); <see cref="Force"/> kills its programs at once instead of after SIGTERM and a grace period.</summary>
public sealed record ShutdownMessage(bool Reboot, bool Force = false);

/// <summary>Stable error codes the agent reports.</summary>
public static class ErrorCodes
{
    public const string ProtocolVersionMismatch = "ProtocolVersionMismatch";
    public const string BadRequest = "BadRequest";
    public const string Unsupported = "Unsupported";
    public const string UnknownChannel = "UnknownChannel";
    public const string ChannelInUse = "ChannelInUse";
    public const string CommandNotFound = "CommandNotFound";
    public const string UserNotFound = "UserNotFound";
    public const string ExecFailed = "ExecFailed";
}
