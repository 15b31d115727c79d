using System.Net.Sockets;

namespace VmPs.Core.Agent;

/// <summary>Waits for a booting guest's agent to answer.</summary>
public static class AgentReadiness
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Connects (a fresh connection after every failure, every 25 ms) until the agent answers the handshake, and
    /// returns that connected client: the handshake is the agent's answer, and a further request would only add a
    /// round trip through the emulated channel to every start. Fails fast when <paramref name="isVmAlive"/> turns
    /// false, at once on a protocol version mismatch, and with ErrorId AgentNotReady when <paramref name="deadline"/>
    /// passes.
    /// </summary>
    public static async Task<AgentClient> WaitAsync(IAgentConnector connector, TimeSpan deadline, Func<bool> isVmAlive, CancellationToken cancellationToken)
    {
        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        expiry.CancelAfter(deadline);
        Exception? lastFailure = null;
        while (true)
        {
            if (!isVmAlive())
            {
                throw new VmPsException(VmPsErrorIds.VmExitedBeforeAgentReady, VmPsErrorKind.InvalidOperation, "The VM stopped before its agent became ready; see its console log.", inner: lastFailure);
            }

            try
            {
                return await ConnectOnceAsync(connector, isVmAlive, expiry.Token).ConfigureAwait(false);
            }
            catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.AgentVersionMismatch)
            {
                throw;
            }
            catch (Exception error) when (error is VmPsException or IOException or SocketException or OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                lastFailure = error;
            }

            try
            {
                await Task.Delay(PollInterval, expiry.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (expiry.IsCancellationRequested)
            {
                throw new VmPsException(
                    VmPsErrorIds.AgentNotReady,
                    VmPsErrorKind.OperationTimeout,
                    $"The guest agent did not answer within {deadline.TotalSeconds:0.#} s. Last error: {lastFailure?.Message ?? "none"}",
                    inner: lastFailure)
                {
                    RecommendedAction = "Look at the VM's console log for boot errors.",
                };
            }
        }
    }

    /// <summary>One attempt; while it waits for the handshake it keeps checking that the VM is alive.</summary>
    private static async Task<AgentClient> ConnectOnceAsync(IAgentConnector connector, Func<bool> isVmAlive, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var connecting = AgentClient.ConnectAsync(connector, attempt.Token);
        while (!connecting.IsCompleted)
        {
            await Task.WhenAny(connecting, Task.Delay(PollInterval, cancellationToken)).ConfigureAwait(false);
            if (!isVmAlive() || cancellationToken.IsCancellationRequested)
            {
                attempt.Cancel();
            }
        }

        return await connecting.ConfigureAwait(false);
    }
}
