using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Guest.Files;

/// <summary>
/// The file operations of one agent session. Each runs on its own task, so a large transfer never holds up
/// the session's frame loop; content flows within the credit window in both directions.
/// </summary>
internal sealed class FileService
{
    private const int EntriesPerBatch = 256;

    private readonly FrameWriter writer;
    private readonly ConcurrentDictionary<uint, FileTransfer> transfers = new();

    public FileService(FrameWriter writer)
    {
        this.writer = writer;
    }

    public void Start(Frame frame)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.FileRequestMessage);
        if (string.IsNullOrEmpty(request.Path) || !request.Path.StartsWith('/'))
        {
            throw new GuestException(ErrorCodes.BadRequest, $"A file operation needs an absolute guest path; got '{request.Path}'.");
        }

        var transfer = new FileTransfer(frame.Channel, writer);
        if (!transfers.TryAdd(frame.Channel, transfer))
        {
            throw new GuestException(ErrorCodes.ChannelInUse, $"Channel {frame.Channel} already has a file operation.");
        }

        _ = Task.Run(() => RunAsync(transfer, request));
    }

    // Content frames for a transfer that already ended (it failed while the host was still sending) are dropped.
    public void OnData(Frame frame)
    {
        if (Find(frame)?.Receiver is not { } receiver)
        {
            return;
        }

        try
        {
            receiver.Enqueue(frame.Payload);
        }
        catch (ProtocolException error)
        {
            receiver.Fail(error);
        }
    }

    public void OnEnd(Frame frame) => Find(frame)?.Receiver?.Complete();

    public void OnCredit(Frame frame) => Find(frame)?.Sender?.AddCredit(FileTransferWindow.DecodeCredit(frame.Payload.Span));

    public void OnCancel(Frame frame) => Find(frame)?.Cancel();

    /// <summary>The session ended: nobody will send or read the content of its transfers any more.</summary>
    public void AbandonAll()
    {
        foreach (var transfer in transfers.Values)
        {
            transfer.Cancel();
        }

        transfers.Clear();
    }

    private FileTransfer? Find(Frame frame) => transfers.GetValueOrDefault(frame.Channel);

    private async Task RunAsync(FileTransfer transfer, FileRequestMessage request)
    {
        try
        {
            await PerformAsync(transfer, request).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (transfer.Cancellation.IsCancellationRequested)
        {
            // The host abandoned it and expects no answer.
        }
        catch (Exception error) when (FileOperationException.IsFileSystemError(error) || error is GuestException or ProtocolException)
        {
            var (code, message) = error switch
            {
                GuestException guest => (guest.Code, guest.Message),
                ProtocolException => (ErrorCodes.BadRequest, error.Message),
                _ => (FileOperationException.From(error).Code, error.Message),
            };
            await TrySendAsync(transfer, FrameType.Error, new ErrorMessage(code, message), ProtocolJsonContext.Default.ErrorMessage).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            // A bug must still end the operation, or the host would wait for an answer forever.
            await TrySendAsync(transfer, FrameType.Error, new ErrorMessage(FileErrorCodes.IoFailed, error.ToString()), ProtocolJsonContext.Default.ErrorMessage).ConfigureAwait(false);
        }
        finally
        {
            transfers.TryRemove(new KeyValuePair<uint, FileTransfer>(transfer.Channel, transfer));
        }
    }

    private static async Task PerformAsync(FileTransfer transfer, FileRequestMessage request)
    {
        var path = request.Path;
        var token = transfer.Cancellation;
        switch (request.Operation)
        {
            case FileOperation.Stat:
                await SendResultAsync(transfer, new FileResultMessage(GuestFiles.Describe(path))).ConfigureAwait(false);
                break;
            case FileOperation.List:
                var count = 0;
                foreach (var batch in GuestFiles.List(path).Chunk(EntriesPerBatch))
                {
                    await SendAsync(transfer, FrameType.FileEntries, new FileEntriesMessage(batch), ProtocolJsonContext.Default.FileEntriesMessage).ConfigureAwait(false);
                    count += batch.Length;
                }

                await SendResultAsync(transfer, new FileResultMessage(Files: count)).ConfigureAwait(false);
                break;
            case FileOperation.Delete:
                GuestFiles.Delete(path, request.Recursive);
                await SendResultAsync(transfer, new FileResultMessage()).ConfigureAwait(false);
                break;
            case FileOperation.Read:
                await using (var file = GuestFiles.OpenRead(path))
                {
                    var sender = transfer.Send();
                    await SendReadyAsync(transfer, new FileReadyMessage(GuestFiles.Describe(path) with { Size = file.Length }, file.Length)).ConfigureAwait(false);
                    await file.CopyToAsync(sender, FileTransferWindow.ChunkBytes, token).ConfigureAwait(false);
                    await sender.CompleteAsync(token).ConfigureAwait(false);
                }

                break;
            case FileOperation.Write:
                var metadata = GuestFiles.PrepareWrite(path, request);
                var content = transfer.Receive();
                await SendReadyAsync(transfer, new FileReadyMessage()).ConfigureAwait(false);
                var written = await AtomicFile.WriteAsync(path, content, metadata, token).ConfigureAwait(false);
                await SendResultAsync(transfer, new FileResultMessage(GuestFiles.Describe(path), 1, written)).ConfigureAwait(false);
                break;
            case FileOperation.Extract:
                GuestFiles.PrepareDirectory(path);
                var archive = transfer.Receive();
                await SendReadyAsync(transfer, new FileReadyMessage()).ConfigureAwait(false);
                TarExtractResult extracted;
                using (var destination = ConfinedDirectory.Open(path, Confinement.Beneath))
                {
                    // The host's own files: modes and links exactly as they are there, owners when it asks.
                    var options = new TarExtractOptions
                    {
                        Overwrite = request.Overwrite,
                        Modes = request.PreserveOwnership ? ExtractedModes.ExactOwnerAndMode : ExtractedModes.ExactMode,
                        RootName = request.EntryName,
                        AllowTree = request.Recursive,
                        KeepLinksLeavingTree = true,
                    };
                    extracted = await TarTreeExtractor.ExtractAsync(archive, destination, options, token).ConfigureAwait(false);
                }

                await SendResultAsync(transfer, new FileResultMessage(Files: extracted.Entries, Bytes: extracted.Bytes)).ConfigureAwait(false);
                break;
            case FileOperation.Archive:
                var (source, info) = GuestFiles.PrepareArchive(path, request.Recursive);
                var tar = transfer.Send();
                await SendReadyAsync(transfer, new FileReadyMessage(info, TarTreeWriter.MeasureContent(source))).ConfigureAwait(false);
                await TarTreeWriter.WriteAsync(tar, source, request.EntryName ?? info.Name, token).ConfigureAwait(false);
                await tar.CompleteAsync(token).ConfigureAwait(false);
                break;
            default:
                throw new GuestException(ErrorCodes.Unsupported, $"This agent does not know the file operation {request.Operation}.");
        }
    }

    private static Task SendReadyAsync(FileTransfer transfer, FileReadyMessage ready) =>
        SendAsync(transfer, FrameType.FileReady, ready, ProtocolJsonContext.Default.FileReadyMessage);

    private static Task SendResultAsync(FileTransfer transfer, FileResultMessage result) =>
        SendAsync(transfer, FrameType.FileResult, result, ProtocolJsonContext.Default.FileResultMessage);

    private static async Task SendAsync<T>(FileTransfer transfer, FrameType type, T message, JsonTypeInfo<T> typeInfo) =>
        await transfer.Writer.WriteAsync(type, transfer.Channel, JsonSerializer.SerializeToUtf8Bytes(message, typeInfo), transfer.Cancellation).ConfigureAwait(false);

    private static async Task TrySendAsync<T>(FileTransfer transfer, FrameType type, T message, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            await transfer.Writer.WriteAsync(type, transfer.Channel, JsonSerializer.SerializeToUtf8Bytes(message, typeInfo), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            // The session is gone; nobody is waiting for the answer.
        }
    }
}
