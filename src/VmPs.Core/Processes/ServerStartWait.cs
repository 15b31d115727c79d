namespace VmPs.Core.Processes;

/// <summary>How the wait for a server just started ended.</summary>
internal enum ServerStartOutcome
{
    Answered,
    Exited,
    TimedOut,
}

/// <summary>The wait for a server VmPs has just started detached (the ingress's servers, the SSH gateway's sshd) to answer.</summary>
internal static class ServerStartWait
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Polls <paramref name="answersAsync"/> until it says the server answers, the process exits, or
    /// <paramref name="timeout"/> passes; the caller ends a server that did not answer and says why.
    /// </summary>
    public static async Task<ServerStartOutcome> UntilAnswersAsync(
        ProcessIdentity server, Func<CancellationToken, Task<bool>> answersAsync, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await answersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!ProcessProbe.IsRunning(server))
            {
                return ServerStartOutcome.Exited;
            }

            if (started.Elapsed > timeout)
            {
                return ServerStartOutcome.TimedOut;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        return ServerStartOutcome.Answered;
    }
}
