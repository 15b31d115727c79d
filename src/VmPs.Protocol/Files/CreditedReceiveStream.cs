using System.Threading.Channels;

namespace VmPs.Protocol.Files;

/// <summary>
/// The receiving end of a content transfer as a read-only stream. The frame reader hands it chunks without ever
/// blocking (<see cref="Enqueue"/>); reading consumes them and returns credit to the sender through the callback.
/// A sender that exceeds its credit breaks the protocol, so the queue stays within one window.
/// </summary>
public sealed class CreditedReceiveStream : Stream
{
    private readonly Channel<ReadOnlyMemory<byte>> chunks = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Func<long, CancellationToken, ValueTask> returnCredit;
    private ReadOnlyMemory<byte> current;
    private long received;
    private long granted = FileTransferWindow.Bytes;
    private long unreturned;

    public CreditedReceiveStream(Func<long, CancellationToken, ValueTask> returnCredit)
    {
        this.returnCredit = returnCredit;
    }

    /// <summary>Content bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Queues a chunk the peer sent; throws when the peer sent more than the window plus the credit returned so far,
    /// however fast this end consumes.
    /// </summary>
    public void Enqueue(ReadOnlyMemory<byte> chunk)
    {
        if (Interlocked.Add(ref received, chunk.Length) > Interlocked.Read(ref granted))
        {
            throw new ProtocolException("The peer sent file content beyond the credit it was given.");
        }

        chunks.Writer.TryWrite(chunk);
    }

    /// <summary>The sender's FileEnd: reads return 0 once the queue is drained.</summary>
    public void Complete() => chunks.Writer.TryComplete();

    /// <summary>Makes pending and later reads throw <paramref name="error"/>.</summary>
    public void Fail(Exception error) => chunks.Writer.TryComplete(error);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (current.IsEmpty)
        {
            if (!await chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            chunks.Reader.TryRead(out current);
        }

        var count = Math.Min(buffer.Length, current.Length);
        current[..count].CopyTo(buffer);
        current = current[count..];
        BytesRead += count;
        unreturned += count;
        if (unreturned >= FileTransferWindow.CreditBatchBytes)
        {
            var credit = unreturned;
            unreturned = 0;
            // Counted before it is sent: the peer may use it as soon as it arrives.
            Interlocked.Add(ref granted, credit);
            await returnCredit(credit, cancellationToken).ConfigureAwait(false);
        }

        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
