using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>
/// The host end of one file operation's channel: the agent's FileReady and FileResult, listed entries, and the
/// content streams (credit in and out). Never blocks the client's read loop: content is queued within the window.
/// </summary>
internal sealed class AgentFileChannel : IAgentChannel
{
    private readonly TaskCompletionSource<FileReadyMessage> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<FileResultMessage> result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>A directory listing holds at most this many entries (about 40 MB at the longest names and paths).</summary>
    public const int MaxListedEntries = 100_000;

    private readonly List<GuestFileInfo> entries = [];

    public AgentFileChannel(AgentClient client, uint channel)
    {
        Client = client;
        Channel = channel;
    }

    public AgentClient Client { get; }

    public uint Channel { get; }

    public Task<FileReadyMessage> Ready => ready.Task;

    public Task<FileResultMessage> Result => result.Task;

    /// <summary>The listed entries, each checked by <see cref="GuestFileInfo.From"/>.</summary>
    public IReadOnlyList<GuestFileInfo> Entries => entries;

    /// <summary>True once the agent ended the operation (result, end of content or error): no need to cancel it.</summary>
    public bool EndedByAgent { get; private set; }

    public CreditedReceiveStream? Receiver { get; private set; }

    public CreditedSendStream? Sender { get; private set; }

    /// <summary>Content from the guest; call before the request goes out.</summary>
    public CreditedReceiveStream Receive() =>
        Receiver = new CreditedReceiveStream((bytes, token) => Client.SendAsync(FrameType.FileCredit, Channel, FileTransferWindow.EncodeCredit(bytes), token));

    /// <summary>Content to the guest; call before the request goes out.</summary>
    public CreditedSendStream Send(Action<long> written) =>
        Sender = new CreditedSendStream(
            (chunk, token) => Client.SendAsync(FrameType.FileData, Channel, chunk, token),
            token => Client.SendAsync(FrameType.FileEnd, Channel, ReadOnlyMemory<byte>.Empty, token))
        {
            Written = written,
        };

    public void OnFrame(Frame frame)
    {
        try
        {
            Dispatch(frame);
        }
        catch (ProtocolException error)
        {
            Fail(AgentErrors.ProtocolError(error.Message, error));
        }
        catch (VmPsException error)
        {
            Fail(error);
        }
    }

    public void OnConnectionLost(VmPsException error) => Fail(error);

    private void Dispatch(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.FileReady:
                ready.TrySetResult(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.FileReadyMessage));
                break;
            case FrameType.FileEntries:
                var entries = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.FileEntriesMessage).Entries;
                if (this.entries.Count + entries.Count > MaxListedEntries)
                {
                    Fail(new VmPsException(
                        VmPsErrorIds.GuestListingTooLarge,
                        VmPsErrorKind.LimitsExceeded,
                        $"The guest listed more than {MaxListedEntries} entries in one directory; list a smaller one.")
                    {
                        RecommendedAction = "List the directory with Invoke-VmCommand (ls, find) and stream the output with -Stream.",
                    });
                    return;
                }

                this.entries.AddRange(entries.Select(GuestFileInfo.From));
                break;
            case FrameType.FileResult:
                EndedByAgent = true;
                result.TrySetResult(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.FileResultMessage));
                FailReadyIfOwed("FileResult");
                break;
            case FrameType.FileData:
                (Receiver ?? throw new ProtocolException("The agent sent file content to an operation that expects none.")).Enqueue(frame.Payload);
                break;
            case FrameType.FileEnd:
                EndedByAgent = true;
                Receiver?.Complete();
                FailReadyIfOwed("FileEnd");
                break;
            case FrameType.FileCredit:
                Sender?.AddCredit(FileTransferWindow.DecodeCredit(frame.Payload.Span));
                break;
            case FrameType.Error:
                EndedByAgent = true;
                Fail(AgentFileErrors.FromAgent(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ErrorMessage)));
                break;
        }
    }

    /// <summary>An operation the agent ended without FileReady never gets one: a caller waiting for it must not wait forever.</summary>
    private void FailReadyIfOwed(string ending)
    {
        if ((Receiver is not null || Sender is not null) && ready.TrySetException(AgentErrors.ProtocolError($"It sent {ending} before FileReady.")))
        {
            _ = ready.Task.Exception;
        }
    }

    private void Fail(VmPsException error)
    {
        ready.TrySetException(error);
        result.TrySetException(error);
        Receiver?.Fail(error);
        Sender?.Fail(error);
        _ = ready.Task.Exception;
        _ = result.Task.Exception;
    }
}
