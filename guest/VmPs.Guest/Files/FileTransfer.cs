using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;

namespace VmPs.Guest.Files;

/// <summary>One file operation of a session, with the content streams of its channel once it has them.</summary>
internal sealed class FileTransfer
{
    private readonly CancellationTokenSource cancellation = new();

    public FileTransfer(uint channel, FrameWriter writer)
    {
        Channel = channel;
        Writer = writer;
    }

    public uint Channel { get; }

    public FrameWriter Writer { get; }

    public CancellationToken Cancellation => cancellation.Token;

    /// <summary>Content from the host (write, extract); set before FileReady tells the host to send.</summary>
    public CreditedReceiveStream? Receiver { get; private set; }

    /// <summary>Content to the host (read, archive).</summary>
    public CreditedSendStream? Sender { get; private set; }

    public CreditedReceiveStream Receive() =>
        Receiver = new CreditedReceiveStream((bytes, token) => Writer.WriteAsync(FrameType.FileCredit, Channel, FileTransferWindow.EncodeCredit(bytes), token));

    public CreditedSendStream Send() =>
        Sender = new CreditedSendStream(
            (chunk, token) => Writer.WriteAsync(FrameType.FileData, Channel, chunk, token),
            token => Writer.WriteAsync(FrameType.FileEnd, Channel, ReadOnlyMemory<byte>.Empty, token));

    /// <summary>The host gave up on it (or the session ended): stop, and let the operation undo its writes.</summary>
    public void Cancel()
    {
        cancellation.Cancel();
        var cancelled = new OperationCanceledException(cancellation.Token);
        Receiver?.Fail(cancelled);
        Sender?.Fail(cancelled);
    }
}
