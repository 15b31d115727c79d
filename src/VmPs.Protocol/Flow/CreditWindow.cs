namespace VmPs.Protocol.Flow;

/// <summary>
/// The sending side of one stream's flow-control window: bytes may be sent only against credit, which
/// the receiver returns as it consumes them. Waiters are released when credit comes back or the window closes.
/// </summary>
public sealed class CreditWindow
{
    private readonly object gate = new();
    private readonly int size;
    private long available;
    private bool closed;
    private TaskCompletionSource changed = NewSignal();

    public CreditWindow(int size)
    {
        this.size = size;
        available = size;
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> (at most the window size) of credit, waiting until that much is available.
    /// Returns false, taking nothing, once the window is closed.
    /// </summary>
    public async ValueTask<bool> TakeAsync(int bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, size);
        while (true)
        {
            Task changed;
            lock (gate)
            {
                if (closed)
                {
                    return false;
                }

                if (available >= bytes)
                {
                    available -= bytes;
                    return true;
                }

                changed = this.changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Blocking <see cref="TakeAsync"/>, for senders that run on a thread of their own.</summary>
    public bool Take(int bytes) => TakeAsync(bytes, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Credit the receiver returned. More than the window in total is ignored: a peer cannot widen it.</summary>
    public void Return(int bytes)
    {
        if (bytes <= 0)
        {
            return;
        }

        lock (gate)
        {
            available = Math.Min(size, available + bytes);
            Signal();
        }
    }

    /// <summary>Ends the stream: waiting and future takers get false.</summary>
    public void Close()
    {
        lock (gate)
        {
            closed = true;
            Signal();
        }
    }

    private void Signal()
    {
        var changed = this.changed;
        this.changed = NewSignal();
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
