using System.Collections.Concurrent;
using VmPs.Guest.Files;
using VmPs.Guest.Init;
using VmPs.Guest.Network;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;
using VmPs.Protocol.Metering;

namespace VmPs.Guest.Agent;

/// <summary>
/// Serves one host connection: waits for a Hello (discarding anything before it, since a virtio-serial
/// stream may hold leftovers of an earlier connection), then answers requests until the stream ends or
/// breaks. A new Hello on the same stream starts a fresh session; execs of the old one are killed.
/// </summary>
internal sealed class AgentSession
{
    private const int MaxHelloLength = 4096;

    private readonly FrameReader reader;
    private readonly FrameWriter writer;
    private readonly AgentContext context;
    private readonly ConcurrentDictionary<uint, ExecProcess> execs = new();
    private readonly FileService files;

    private AgentSession(Stream stream, FrameWriter writer, AgentContext context)
    {
        reader = new FrameReader(stream);
        this.writer = writer;
        this.context = context;
        files = new FileService(writer);
    }

    /// <summary>
    /// Serves the stream until it ends or carries something that is not this protocol. <paramref name="writer"/>
    /// writes to the same stream; a stream that outlives its sessions keeps one writer for all of them.
    /// </summary>
    public static async Task RunAsync(Stream stream, FrameWriter writer, AgentContext context, CancellationToken cancellationToken)
    {
        var session = new AgentSession(stream, writer, context);
        try
        {
            await session.ServeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is ProtocolException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is unusable; the host reconnects with a new Hello.
        }
        finally
        {
            session.AbandonExecs();
        }
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        var hello = await reader.ResyncAsync(FrameType.Hello, MaxHelloLength, IsHello, cancellationToken).ConfigureAwait(false);
        if (hello is null || !await AcceptHelloAsync(hello.Value, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
        {
            if (frame.Type == FrameType.Hello)
            {
                AbandonExecs();
                if (!await AcceptHelloAsync(frame, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            try
            {
                await HandleAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            catch (GuestException error)
            {
                await SendErrorAsync(frame.Channel, error.Code, error.Message, cancellationToken).ConfigureAwait(false);
            }
            catch (ProtocolException error)
            {
                await SendErrorAsync(frame.Channel, ErrorCodes.BadRequest, error.Message, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsHello(Frame frame)
    {
        try
        {
            ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.HelloMessage);
            return true;
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    /// <summary>Answers a Hello; false when the host speaks another protocol version (the session ends).</summary>
    private async Task<bool> AcceptHelloAsync(Frame frame, CancellationToken cancellationToken)
    {
        var hello = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.HelloMessage);
        var ack = new HelloAckMessage(ProtocolInfo.Version, hello.Nonce, ProtocolInfo.ProductVersion);
        await writer.WriteJsonAsync(FrameType.HelloAck, Frame.ConnectionChannel, ack, ProtocolJsonContext.Default.HelloAckMessage, cancellationToken).ConfigureAwait(false);
        if (hello.ProtocolVersion == ProtocolInfo.Version)
        {
            return true;
        }

        await SendErrorAsync(
            Frame.ConnectionChannel,
            ErrorCodes.ProtocolVersionMismatch,
            $"The agent speaks protocol version {ProtocolInfo.Version} (VmPs {ProtocolInfo.ProductVersion}); the host speaks {hello.ProtocolVersion} (VmPs {hello.HostVersion}).",
            cancellationToken).ConfigureAwait(false);
        return false;
    }

    private async Task HandleAsync(Frame frame, CancellationToken cancellationToken)
    {
        if (frame.Channel == Frame.ConnectionChannel)
        {
            throw new GuestException(ErrorCodes.BadRequest, $"Channel 0 is reserved for the handshake; a {frame.Type} request needs its own channel.");
        }

        if (frame.Type is FrameType.ExecStart or FrameType.FileRequest or FrameType.NetworkConfigure or FrameType.VolumeMount or FrameType.VolumeUnmount or FrameType.IdentityApply
            or FrameType.CpusOnline)
        {
            await context.SystemReady.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        switch (frame.Type)
        {
            case FrameType.Ping:
                var (memoryTotal, memoryAvailable) = MemInfo.Read();
                var pong = new PongMessage(ProtocolInfo.ProductVersion, AgentContext.UptimeSeconds(), memoryTotal, memoryAvailable);
                await writer.WriteJsonAsync(FrameType.Pong, frame.Channel, pong, ProtocolJsonContext.Default.PongMessage, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.ExecStart:
                await StartExecAsync(frame, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.Stdin:
                ExecOn(frame).WriteStdin(frame.Payload);
                break;
            case FrameType.StdinClose:
                ExecOn(frame).CloseStdin();
                break;
            case FrameType.Signal:
                var signal = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.SignalMessage);
                if (signal.Signal is < 1 or > 64)
                {
                    throw new GuestException(ErrorCodes.BadRequest, $"{signal.Signal} is not a signal number.");
                }

                ExecOn(frame).Signal(signal.Signal, signal.ProcessGroup);
                break;
            case FrameType.TtyResize:
                ExecOn(frame).Resize(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.TerminalSizeMessage));
                break;
            case FrameType.OutputCredit:
                // Credit may arrive after the exec ended: nothing to answer then.
                if (execs.TryGetValue(frame.Channel, out var creditedExec))
                {
                    creditedExec.ReturnOutputCredit(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.CreditMessage).Bytes);
                }

                break;
            case FrameType.ClockSync:
                await GuestClock.SyncAsync(frame, writer, context, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.Shutdown:
                var shutdown = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ShutdownMessage);
                await writer.WriteAsync(FrameType.ShutdownAck, frame.Channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                context.RequestShutdown(shutdown);
                break;
            case FrameType.FileRequest:
                files.Start(frame);
                break;
            case FrameType.FileData:
                files.OnData(frame);
                break;
            case FrameType.FileEnd:
                files.OnEnd(frame);
                break;
            case FrameType.FileCredit:
                files.OnCredit(frame);
                break;
            case FrameType.FileCancel:
                files.OnCancel(frame);
                break;
            case FrameType.NetworkConfigure:
                await NetworkConfigureHandler.HandleAsync(frame, writer, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.VolumeMount:
                await VolumeRequestHandler.MountAsync(frame, writer, context, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.CpusOnline:
                var online = new CpusOnlinedMessage(GuestCpus.OnlineAll());
                await writer.WriteJsonAsync(FrameType.CpusOnlined, frame.Channel, online, ProtocolJsonContext.Default.CpusOnlinedMessage, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.VolumeUnmount:
                await VolumeRequestHandler.UnmountAsync(frame, writer, context, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.IdentityApply:
                await GuestIdentity.ApplyAsync(frame, writer, context, cancellationToken).ConfigureAwait(false);
                break;
            case FrameType.MetadataApply:
                await MetadataEndpoint.ApplyAsync(frame, writer, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new GuestException(ErrorCodes.Unsupported, $"This agent does not handle {frame.Type} frames.");
        }
    }

    private async Task StartExecAsync(Frame frame, CancellationToken cancellationToken)
    {
        var request = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecStartMessage);
        if (execs.ContainsKey(frame.Channel))
        {
            throw new GuestException(ErrorCodes.ChannelInUse, $"Channel {frame.Channel} already has a running exec.");
        }

        var exec = ExecProcess.Spawn(request, frame.Channel, writer, context);
        execs[frame.Channel] = exec;
        await writer.WriteJsonAsync(FrameType.ExecStarted, frame.Channel, new ExecStartedMessage(exec.Pid), ProtocolJsonContext.Default.ExecStartedMessage, cancellationToken).ConfigureAwait(false);
        _ = exec.StartStreaming().ContinueWith(_ => execs.TryRemove(new KeyValuePair<uint, ExecProcess>(frame.Channel, exec)), TaskScheduler.Default);
    }

    private ExecProcess ExecOn(Frame frame) =>
        execs.TryGetValue(frame.Channel, out var exec)
            ? exec
            : throw new GuestException(ErrorCodes.UnknownChannel, $"No running exec on channel {frame.Channel}.");

    private async Task SendErrorAsync(uint channel, string code, string message, CancellationToken cancellationToken) =>
        await writer.WriteJsonAsync(FrameType.Error, channel, new ErrorMessage(code, message), ProtocolJsonContext.Default.ErrorMessage, cancellationToken).ConfigureAwait(false);

    private void AbandonExecs()
    {
        foreach (var exec in execs.Values)
        {
            exec.Abandon();
        }

        execs.Clear();
        files.AbandonAll();
    }
}
