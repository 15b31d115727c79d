namespace VmPs.Guest.Processes;

/// <summary>A user and its groups, resolved from the guest's own /etc/passwd and /etc/group.</summary>
internal sealed record UserIdentity(uint Uid, uint Gid, IReadOnlyList<uint> Groups, string Home)
{
    public static UserIdentity Root { get; } = new(0, 0, [0], "/root");
}

/// <summary>
/// What to start: an already resolved executable, its argv and environment, and the fds to give it.
/// With <see cref="ControllingTerminal"/> the stdin fd is a terminal that becomes the new session's controlling terminal.
/// </summary>
internal sealed record SpawnOptions(
    string ExecutablePath,
    IReadOnlyList<string> Argv,
    IReadOnlyList<string> Environment,
    string? WorkingDirectory,
    UserIdentity? Identity,
    int StdinFd,
    int StdoutFd,
    int StderrFd,
    bool ControllingTerminal = false);
