namespace VmPs.Protocol.Files;

/// <summary>
/// The sending end of a content transfer as a write-only stream: small writes (tar headers) are gathered
/// into chunks, and a chunk goes out only within the credit the receiver granted, so a fast producer waits
/// for a slow consumer instead of filling memory. <see cref="CompleteAsync"/> sends the rest and FileEnd.
/// </summary>
public sealed class CreditedSendStream : Stream
{
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sendChunk;
    private readonly Func<CancellationToken, ValueTask> sendEnd;
    private readonly byte[] pending = new byte[FileTransferWindow.ChunkBytes];
    private readonly object gate = new();
    private int pendingLength;
    private long credit = FileTransferWindow.Bytes;
    private TaskCompletionSource creditArrived = NewSignal();
    private Exception? failure;

    public CreditedSendStream(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sendChunk, Func<CancellationToken, ValueTask> sendEnd)
    {
        this.sendChunk = sendChunk;
        this.sendEnd = sendEnd;
    }

    /// <summary>Content bytes handed to the stream so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Called with every count of bytes written, from the writing thread.</summary>
    public Action<long>? Written { get; init; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The receiver's FileCredit.</summary>
    public void AddCredit(long bytes)
    {
        TaskCompletionSource signal;
        lock (gate)
        {
            credit += bytes;
            signal = creditArrived;
            creditArrived = NewSignal();
        }

        signal.TrySetResult();
    }

    /// <summary>Makes waiting and later writes throw <paramref name="error"/> (the receiver failed or went away).</summary>
    public void Fail(Exception error)
    {
        TaskCompletionSource signal;
        lock (gate)
        {
            failure ??= error;
            signal = creditArrived;
        }

        signal.TrySetResult();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var count = Math.Min(buffer.Length, pending.Length - pendingLength);
            buffer[..count].CopyTo(pending.AsMemory(pendingLength));
            pendingLength += count;
            buffer = buffer[count..];
            BytesWritten += count;
            Written?.Invoke(count);
            if (pendingLength == pending.Length)
            {
                await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Sends what is gathered, then FileEnd.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await SendPendingAsync(cancellationToken).ConfigureAwait(false);
        await sendEnd(cancellationToken).ConfigureAwait(false);
    }

    // Flushing mid-stream would only make smaller frames; the content goes out by chunks and on completion.
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async ValueTask SendPendingAsync(CancellationToken cancellationToken)
    {
        if (pendingLength == 0)
        {
            return;
        }

        await WaitForCreditAsync(pendingLength, cancellationToken).ConfigureAwait(false);
        await sendChunk(pending.AsMemory(0, pendingLength), cancellationToken).ConfigureAwait(false);
        pendingLength = 0;
    }

    private async ValueTask WaitForCreditAsync(int bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task arrived;
            lock (gate)
            {
                if (failure is { } error)
                {
                    throw error;
                }

                if (credit >= bytes)
                {
                    credit -= bytes;
                    return;
                }

                arrived = creditArrived.Task;
            }

            await arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
