namespace VmPs.Core.Processes;

/// <summary>
/// Ends a server together with what it forked: the processes below it that run its own program, and their children.
/// Such children start sessions of their own (setsid), so ending the server alone would leave them running (sshd's
/// per-connection processes and the sessions they run). Processes those children start (a VM's hypervisor, started
/// detached by a session) are not looked at.
/// </summary>
internal static class ProcessTree
{
    private static readonly TimeSpan FreezeWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    public static async Task KillAsync(ProcessIdentity root, TimeSpan wait, CancellationToken cancellationToken)
    {
        var program = ProcessProbe.ProgramOf(root.Pid);
        // Each process is stopped before its children are listed, so none forks one that the list would miss.
        var frozen = new List<ProcessIdentity>();
        var pending = new Queue<ProcessIdentity>([root]);
        while (pending.TryDequeue(out var process))
        {
            if (!await FreezeAsync(process, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            frozen.Add(process);
            if (process == root || (program is not null && ProcessProbe.ProgramOf(process.Pid) == program))
            {
                foreach (var child in ProcessProbe.ChildrenOf(process.Pid))
                {
                    pending.Enqueue(child);
                }
            }
        }

        await Task.WhenAll(frozen.Select(process => ProcessProbe.KillAsync(process, wait, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Stops the process and waits (bounded) until it has; false when it is gone.</summary>
    private static async Task<bool> FreezeAsync(ProcessIdentity process, CancellationToken cancellationToken)
    {
        ProcessProbe.Freeze(process);
        var deadline = DateTime.UtcNow + FreezeWait;
        while (!ProcessProbe.IsStoppedOrGone(process) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        return ProcessProbe.IsRunning(process);
    }
}
