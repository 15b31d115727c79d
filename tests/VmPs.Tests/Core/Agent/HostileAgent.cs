using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using VmPs.Core.Agent;
using VmPs.Protocol;
using VmPs.Protocol.Files;
using VmPs.Protocol.Flow;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Tests.Core.Agent;

/// <summary>What a hostile agent answers to each request; every default is what the real agent would never do: nothing.</summary>
internal abstract class HostileScript
{
    public virtual Task OnFileRequestAsync(HostileSession session, uint channel, FileRequestMessage request) => Task.CompletedTask;

    public virtual Task OnExecStartAsync(HostileSession session, uint channel, ExecStartMessage request) => Task.CompletedTask;
}

/// <summary>
/// The test double for a hostile guest: an agent on a Unix socket that speaks the real protocol (handshake, frames,
/// credit windows, the real message types) and answers requests as its <see cref="HostileScript"/> says.
/// The host's real AgentClient, AgentFileClient and VmExecution talk to it through the same connector as to a VM.
/// </summary>
internal sealed class HostileAgent : IAsyncDisposable
{
    private readonly FakeAgentServer server;

    public HostileAgent(HostileScript script)
    {
        server = new FakeAgentServer(stream => new HostileSession(stream, script).RunAsync());
    }

    public string SocketPath => server.SocketPath;

    public IAgentConnector Connector => new AgentVirtioSerialConnector(SocketPath);

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

/// <summary>One connection of a <see cref="HostileAgent"/>, with the helpers its scripts send with.</summary>
internal sealed class HostileSession
{
    private readonly Stream stream;
    private readonly HostileScript script;
    private readonly FrameReader reader;
    private readonly FrameWriter writer;
    private readonly SemaphoreSlim writing = new(1, 1);
    private readonly ConcurrentDictionary<uint, CreditWindow> credit = new();
    private readonly CancellationTokenSource ended = new();

    public HostileSession(Stream stream, HostileScript script)
    {
        this.stream = stream;
        this.script = script;
        reader = new FrameReader(stream);
        writer = new FrameWriter(stream);
    }

    /// <summary>Cancelled when the host hangs up or cancels the operation on a channel (FileCancel, a kill).</summary>
    public CancellationToken Ended => ended.Token;

    /// <summary>Signals the host sent, per channel (a kill of a runaway exec, for example).</summary>
    public ConcurrentQueue<(uint Channel, SignalMessage Signal)> Signals { get; } = new();

    public async Task RunAsync()
    {
        try
        {
            var hello = await reader.ReadAsync(default) ?? throw new EndOfStreamException();
            var nonce = ProtocolJson.Deserialize(hello.Payload.Span, ProtocolJsonContext.Default.HelloMessage).Nonce;
            await SendJsonAsync(FrameType.HelloAck, 0, new HelloAckMessage(ProtocolInfo.Version, nonce, ProtocolInfo.ProductVersion), ProtocolJsonContext.Default.HelloAckMessage);
            while (await reader.ReadAsync(default) is { } frame)
            {
                Dispatch(frame);
            }
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            await ended.CancelAsync();
            foreach (var window in credit.Values)
            {
                window.Close();
            }
        }
    }

    public ValueTask SendJsonAsync<T>(FrameType type, uint channel, T message, JsonTypeInfo<T> typeInfo) =>
        SendAsync(type, channel, JsonSerializer.SerializeToUtf8Bytes(message, typeInfo));

    public async ValueTask SendAsync(FrameType type, uint channel, ReadOnlyMemory<byte> payload)
    {
        await writing.WaitAsync(Ended);
        try
        {
            await writer.WriteAsync(type, channel, payload, Ended);
        }
        finally
        {
            writing.Release();
        }
    }

    /// <summary>Bytes that are not a frame at all.</summary>
    public async ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await writing.WaitAsync(Ended);
        try
        {
            await stream.WriteAsync(bytes, Ended);
            await stream.FlushAsync(Ended);
        }
        finally
        {
            writing.Release();
        }
    }

    public ValueTask SendResultAsync(uint channel, FileResultMessage result) =>
        SendJsonAsync(FrameType.FileResult, channel, result, ProtocolJsonContext.Default.FileResultMessage);

    public ValueTask SendErrorAsync(uint channel, string code, string message) =>
        SendJsonAsync(FrameType.Error, channel, new ErrorMessage(code, message), ProtocolJsonContext.Default.ErrorMessage);

    /// <summary>
    /// Content frames of <paramref name="type"/> from <paramref name="content"/>, within the credit window of the
    /// channel (<paramref name="windowBytes"/>), or regardless of it when <paramref name="ignoreCredit"/>.
    /// </summary>
    public async Task SendContentAsync(FrameType type, uint channel, Stream content, int windowBytes, bool ignoreCredit = false, int chunkBytes = 64 * 1024)
    {
        var window = credit.GetOrAdd(channel, _ => new CreditWindow(windowBytes));
        var buffer = new byte[chunkBytes];
        int read;
        while ((read = await content.ReadAsync(buffer, Ended)) > 0)
        {
            if (!ignoreCredit && !await window.TakeAsync(read, Ended))
            {
                return;
            }

            await SendAsync(type, channel, buffer.AsMemory(0, read));
        }
    }

    /// <summary>FileReady, the archive within the file window, FileEnd: what the real agent sends for an Archive request.</summary>
    public async Task SendArchiveAsync(uint channel, FileInfoMessage info, Stream archive, bool ignoreCredit = false)
    {
        await SendJsonAsync(FrameType.FileReady, channel, new FileReadyMessage(info, 0), ProtocolJsonContext.Default.FileReadyMessage);
        await SendContentAsync(FrameType.FileData, channel, archive, FileTransferWindow.Bytes, ignoreCredit);
        await SendAsync(FrameType.FileEnd, channel, ReadOnlyMemory<byte>.Empty);
    }

    private void Dispatch(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Ping:
                _ = SendJsonAsync(FrameType.Pong, frame.Channel, new PongMessage(ProtocolInfo.ProductVersion, 1), ProtocolJsonContext.Default.PongMessage).AsTask();
                break;
            case FrameType.FileRequest:
                var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.FileRequestMessage);
                _ = Guard(script.OnFileRequestAsync(this, frame.Channel, request));
                break;
            case FrameType.ExecStart:
                var exec = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecStartMessage);
                _ = Guard(script.OnExecStartAsync(this, frame.Channel, exec));
                break;
            case FrameType.FileCredit:
                credit.GetOrAdd(frame.Channel, _ => new CreditWindow(FileTransferWindow.Bytes)).Return((int)FileTransferWindow.DecodeCredit(frame.Payload.Span));
                break;
            case FrameType.OutputCredit:
                credit.GetOrAdd(frame.Channel, _ => new CreditWindow(ExecFlowControl.OutputWindow))
                    .Return(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.CreditMessage).Bytes);
                break;
            case FrameType.Signal:
                Signals.Enqueue((frame.Channel, ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.SignalMessage)));
                break;
            case FrameType.FileCancel:
                if (credit.TryGetValue(frame.Channel, out var cancelled))
                {
                    cancelled.Close();
                }

                break;
        }
    }

    private static async Task Guard(Task reply)
    {
        try
        {
            await reply;
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The host hung up on us: that is one of the outcomes a hostile answer may get.
        }
    }
}
