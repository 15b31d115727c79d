using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using VmPs.Protocol;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>
/// One connection to a guest agent. Requests are multiplexed: each gets its own channel, so many execs
/// and pings run concurrently on the one stream.
/// </summary>
public sealed class AgentClient : IAsyncDisposable
{
    private const int MaxHelloAckLength = 4096;

    /// <summary>An uptime a guest may claim; a hostile one beyond it (or NaN) would not fit a TimeSpan.</summary>
    private static readonly TimeSpan MaxUptime = TimeSpan.FromDays(365 * 100);

    /// <summary>
    /// How long the agent may stay silent while it owes a reply (handshake, ExecStarted, Pong, acknowledgements).
    /// A live agent answers in milliseconds, and a busy one (many execs starting at once) keeps sending frames;
    /// QEMU keeps a virtio-serial socket open even when nothing in the guest reads it.
    /// </summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstHandshakeAttempt = TimeSpan.FromSeconds(2);

    private readonly Stream stream;
    private readonly FrameReader reader;
    private readonly FrameWriter writer;
    private readonly ConcurrentDictionary<uint, IAgentChannel> channels = new();
    private readonly CancellationTokenSource closing = new();
    private Task readLoop = Task.CompletedTask;
    private Task livenessWatch = Task.CompletedTask;
    private VmPsException? lost;
    private int lastChannel;
    private int disposed;

    private readonly TimeSpan replyTimeout;
    private long lastFrameTimestamp = Stopwatch.GetTimestamp();

    /// <summary>The last frame other than a keepalive's Pong: what shows the agent still works on what it owes.</summary>
    private long lastWorkTimestamp = Stopwatch.GetTimestamp();

    /// <summary>When the host last opened a request or a command: each gets its whole reply timeout before the liveness watch judges.</summary>
    private long lastOpenTimestamp = Stopwatch.GetTimestamp();

    /// <summary>The channels of the keepalive pings in flight (see <see cref="WatchLivenessAsync"/>).</summary>
    private readonly ConcurrentDictionary<uint, byte> keepalives = new();

    private AgentClient(Stream stream, string agentVersion, FrameReader reader, FrameWriter writer, TimeSpan replyTimeout)
    {
        this.stream = stream;
        this.replyTimeout = replyTimeout;
        AgentVersion = agentVersion;
        this.reader = reader;
        this.writer = writer;
    }

    /// <summary>The VmPs version of the agent, from the handshake.</summary>
    public string AgentVersion { get; }

    /// <summary>
    /// Connects and shakes hands: sends Hello with a fresh nonce and skips anything on the stream until the
    /// agent's HelloAck for that nonce. Fails with AgentVersionMismatch when the agent speaks another protocol.
    /// </summary>
    public static Task<AgentClient> ConnectAsync(IAgentConnector connector, CancellationToken cancellationToken) =>
        ConnectAsync(connector, DefaultReplyTimeout, cancellationToken);

    /// <summary>
    /// Like <see cref="ConnectAsync(IAgentConnector, CancellationToken)"/>; the HelloAck must come within
    /// <paramref name="replyTimeout"/>, and while any other reply is owed the agent may not stay silent for longer,
    /// or the request fails with AgentNotResponding.
    /// </summary>
    /// <remarks>
    /// A handshake that gets no answer soon is tried again on a new connection (after 2 s, then 4 s, 8 s, ... within
    /// the reply timeout). Under load, a guest's virtio-serial port can miss that the host connected: the guest then
    /// holds its HelloAck back until the port sees a connection again, and the next connection receives it at once.
    /// </remarks>
    public static async Task<AgentClient> ConnectAsync(IAgentConnector connector, TimeSpan replyTimeout, CancellationToken cancellationToken)
    {
        var elapsed = Stopwatch.StartNew();
        var attemptTimeout = FirstHandshakeAttempt;
        while (true)
        {
            var remaining = replyTimeout - elapsed.Elapsed;
            var lastAttempt = attemptTimeout >= remaining;
            var client = await TryConnectAsync(connector, lastAttempt ? remaining : attemptTimeout, replyTimeout, cancellationToken).ConfigureAwait(false);
            if (client is not null)
            {
                return client;
            }

            if (lastAttempt)
            {
                throw AgentErrors.NotResponding("the handshake", replyTimeout);
            }

            attemptTimeout *= 2;
        }
    }

    /// <summary>One connection and handshake; null when no HelloAck came within <paramref name="attemptTimeout"/>.</summary>
    private static async Task<AgentClient?> TryConnectAsync(IAgentConnector connector, TimeSpan attemptTimeout, TimeSpan replyTimeout, CancellationToken cancellationToken)
    {
        var stream = await connector.ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshakeTimeout.CancelAfter(attemptTimeout);
            AgentClient client;
            try
            {
                client = await HandshakeAsync(stream, replyTimeout, handshakeTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                return null;
            }

            client.readLoop = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            client.livenessWatch = Task.Run(client.WatchLivenessAsync, CancellationToken.None);
            return client;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<AgentPong> PingAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var reply = await RequestAsync(FrameType.Ping, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        var pong = Parse(Expect(reply, FrameType.Pong), ProtocolJsonContext.Default.PongMessage);
        if (!double.IsFinite(pong.UptimeSeconds) || pong.UptimeSeconds < 0 || pong.UptimeSeconds > MaxUptime.TotalSeconds)
        {
            throw AgentErrors.ProtocolError($"an uptime of {pong.UptimeSeconds} s.");
        }

        return new AgentPong(pong.AgentVersion, TimeSpan.FromSeconds(pong.UptimeSeconds), clock.Elapsed)
        {
            MemoryTotalBytes = pong.MemoryTotalBytes,
            MemoryAvailableBytes = pong.MemoryAvailableBytes,
        };
    }

    /// <summary>Sets the guest's clock to this host's UTC time (after a restore, or when it drifted).</summary>
    public async Task<AgentClockSync> SyncClockAsync(CancellationToken cancellationToken)
    {
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ClockSyncMessage(now), ProtocolJsonContext.Default.ClockSyncMessage);
        var reply = await RequestAsync(FrameType.ClockSync, payload, cancellationToken).ConfigureAwait(false);
        var synced = Parse(Expect(reply, FrameType.ClockSynced), ProtocolJsonContext.Default.ClockSyncedMessage);
        return new AgentClockSync(TimeSpan.FromSeconds(synced.OffsetSeconds));
    }

    /// <summary>
    /// Starts a process in the guest and returns once the guest has started it. The caller reads
    /// <see cref="AgentExecution.Output"/> to the end (output is flow-controlled) and awaits its exit. With
    /// <see cref="AgentExecRequest.Timeout"/>, the process is killed once it passes and waiting fails with AgentExecTimeout.
    /// </summary>
    public async Task<AgentExecution> StartExecAsync(AgentExecRequest request, CancellationToken cancellationToken)
    {
        var message = ToMessage(request);
        var (channel, execution) = Open(channel => new AgentExecution(this, channel, request));
        try
        {
            await SendJsonAsync(FrameType.ExecStart, channel, message, ProtocolJsonContext.Default.ExecStartMessage, cancellationToken).ConfigureAwait(false);
            await AwaitReplyAsync(execution.Started, $"the request to start '{message.Argv[0]}'", cancellationToken).ConfigureAwait(false);
            execution.StartTimeout();
            return execution;
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.AgentNotResponding)
        {
            Release(channel);
            throw;
        }
        catch (OperationCanceledException)
        {
            // The guest may already run it: kill it rather than leave it running unobserved.
            await execution.KillAsync().ConfigureAwait(false);
            Release(channel);
            throw;
        }
    }

    /// <summary>
    /// Runs a command to completion and returns its exit code and its whole stdout and stderr (see
    /// <see cref="AgentExecution.RunToEndAsync"/>): on timeout the command (and everything it started) is killed and
    /// AgentExecTimeout is thrown; when a stream passes <see cref="AgentExecRequest.MaxOutputBytes"/> it is killed and
    /// GuestOutputTooLarge is thrown.
    /// </summary>
    public async Task<AgentExecResult> ExecAsync(AgentExecRequest request, CancellationToken cancellationToken)
    {
        var execution = await StartExecAsync(request, cancellationToken).ConfigureAwait(false);
        var input = request.StandardInput is { } text ? Encoding.UTF8.GetBytes(text) : ReadOnlyMemory<byte>.Empty;
        return await execution.RunToEndAsync(input, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the guest to power off (or reboot); returns once the agent acknowledged or the connection closed.</summary>
    /// <param name="force">Kill the guest's programs at once instead of giving them SIGTERM and a grace period.</param>
    public async Task ShutdownAsync(bool reboot, bool force, CancellationToken cancellationToken)
    {
        var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ShutdownMessage(reboot, force), ProtocolJsonContext.Default.ShutdownMessage);
        try
        {
            Expect(await RequestAsync(FrameType.Shutdown, payload, cancellationToken).ConfigureAwait(false), FrameType.ShutdownAck);
        }
        catch (VmPsException error) when (error.ErrorId == VmPsErrorIds.AgentConnectionLost)
        {
            // Going down before the acknowledgement arrived is what was asked for.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        closing.Cancel();
        await stream.DisposeAsync().ConfigureAwait(false);
        await readLoop.ConfigureAwait(false);
        await livenessWatch.ConfigureAwait(false);
        closing.Dispose();
    }

    internal ValueTask SendAsync(FrameType type, uint channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfLost();
        return WrapIoErrors(writer.WriteAsync(type, channel, payload, cancellationToken));
    }

    /// <summary>Sends bulk bytes, split into as many frames as the size limit needs.</summary>
    internal ValueTask SendDataAsync(FrameType type, uint channel, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ThrowIfLost();
        return WrapIoErrors(writer.WriteDataAsync(type, channel, data, cancellationToken));
    }

    internal ValueTask SendJsonAsync<T>(FrameType type, uint channel, T message, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        ThrowIfLost();
        return WrapIoErrors(writer.WriteJsonAsync(type, channel, message, typeInfo, cancellationToken));
    }

    internal void Release(uint channel) => channels.TryRemove(channel, out _);

    private static async Task<AgentClient> HandshakeAsync(Stream stream, TimeSpan replyTimeout, CancellationToken cancellationToken)
    {
        var reader = new FrameReader(stream);
        var writer = new FrameWriter(stream);
        var nonce = Guid.NewGuid().ToString("N");
        var hello = new HelloMessage(ProtocolInfo.Version, nonce, ProtocolInfo.ProductVersion);
        try
        {
            await writer.WriteJsonAsync(FrameType.Hello, Frame.ConnectionChannel, hello, ProtocolJsonContext.Default.HelloMessage, cancellationToken).ConfigureAwait(false);
            var ackFrame = await reader.ResyncAsync(FrameType.HelloAck, MaxHelloAckLength, frame => IsAckFor(frame, nonce), cancellationToken).ConfigureAwait(false)
                ?? throw AgentErrors.ConnectionLost("the agent closed the connection during the handshake.");
            var ack = ProtocolJson.Deserialize(ackFrame.Payload.Span, ProtocolJsonContext.Default.HelloAckMessage);
            if (ack.ProtocolVersion != ProtocolInfo.Version)
            {
                throw AgentErrors.VersionMismatch(ack.ProtocolVersion, ack.AgentVersion);
            }

            return new AgentClient(stream, ack.AgentVersion, reader, writer, replyTimeout);
        }
        catch (IOException error)
        {
            throw AgentErrors.ConnectionLost($"the handshake failed: {error.Message}", error);
        }
    }

    private static bool IsAckFor(Frame frame, string nonce)
    {
        try
        {
            return ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.HelloAckMessage).Nonce == nonce;
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    private async Task ReadLoopAsync()
    {
        VmPsException lost;
        try
        {
            while (await reader.ReadAsync(closing.Token).ConfigureAwait(false) is { } frame)
            {
                var now = Stopwatch.GetTimestamp();
                Interlocked.Exchange(ref lastFrameTimestamp, now);
                if (!keepalives.ContainsKey(frame.Channel))
                {
                    Interlocked.Exchange(ref lastWorkTimestamp, now);
                }

                if (channels.TryGetValue(frame.Channel, out var channel))
                {
                    channel.OnFrame(frame);
                }
            }

            // The liveness watch ends a silent connection by closing the stream, which a pending read may see as its end.
            lost = this.lost ?? AgentErrors.ConnectionLost("the agent closed the connection.");
        }
        catch (ProtocolException error) when (!closing.IsCancellationRequested)
        {
            // Whatever the agent sent cannot be trusted to frame the rest of the stream: the connection is over.
            lost = AgentErrors.ProtocolError(error.Message, error);
            this.lost = lost;
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception error) when (error is ProtocolException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            lost = this.lost ?? (closing.IsCancellationRequested
                ? AgentErrors.ConnectionLost("the client was closed.")
                : AgentErrors.ConnectionLost(error.Message, error));
        }

        this.lost = lost;
        foreach (var channel in channels.Values)
        {
            channel.OnConnectionLost(lost);
        }

        channels.Clear();
    }

    /// <summary>
    /// While a request or a command is open, pings the agent once it has been silent for a third of the reply timeout,
    /// and ends the connection (AgentNotResponding) once it stays silent for twice the timeout (a reply it owes fails
    /// with its own error first). A transport can outlive its agent: QEMU keeps a virtio-serial socket open while its
    /// guest reboots in place, and a command whose agent went down with the guest would otherwise wait for ever.
    /// </summary>
    private async Task WatchLivenessAsync()
    {
        var interval = replyTimeout / 3;
        try
        {
            while (lost is null)
            {
                await Task.Delay(interval, closing.Token).ConfigureAwait(false);
                var silent = Stopwatch.GetElapsedTime(Math.Max(Interlocked.Read(ref lastFrameTimestamp), Interlocked.Read(ref lastOpenTimestamp)));
                if (channels.Count <= keepalives.Count || silent < interval)
                {
                    continue;
                }

                if (silent >= 2 * replyTimeout)
                {
                    lost = AgentErrors.NotResponding($"while {channels.Count - keepalives.Count} request(s) or command(s) were open", 2 * replyTimeout);
                    await stream.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                _ = KeepAliveAsync(closing.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The client is being disposed.
        }
    }

    /// <summary>A keepalive ping: its Pong shows the agent alive, not working on what it owes; its failure is the watch's to judge.</summary>
    private async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (channel, reply) = Open(_ => new AgentReplyChannel(), keepalive: true);
            try
            {
                await SendAsync(FrameType.Ping, channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                await reply.Reply.WaitAsync(replyTimeout, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                keepalives.TryRemove(channel, out _);
                Release(channel);
            }
        }
        catch (Exception error) when (error is VmPsException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <param name="keepalive">A keepalive ping's: it neither shows the agent working nor starts a request's time.</param>
    internal (uint Channel, T Handler) Open<T>(Func<uint, T> create, bool keepalive = false)
        where T : IAgentChannel
    {
        ThrowIfLost();
        var channel = (uint)Interlocked.Increment(ref lastChannel);
        var handler = create(channel);
        if (keepalive)
        {
            keepalives[channel] = 0;
        }
        else
        {
            Interlocked.Exchange(ref lastOpenTimestamp, Stopwatch.GetTimestamp());
        }

        channels[channel] = handler;
        if (this.lost is { } lost)
        {
            // The read loop ended between the check above and the registration.
            Release(channel);
            throw lost;
        }

        return (channel, handler);
    }

    internal async Task<Frame> RequestAsync(FrameType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var (channel, reply) = Open(_ => new AgentReplyChannel());
        try
        {
            await SendAsync(type, channel, payload, cancellationToken).ConfigureAwait(false);
            var frame = await AwaitReplyAsync(reply.Reply, $"a {type} request", cancellationToken).ConfigureAwait(false);
            return frame.Type == FrameType.Error
                ? throw AgentErrors.FromAgent(Parse(frame, ProtocolJsonContext.Default.ErrorMessage))
                : frame;
        }
        finally
        {
            Release(channel);
        }
    }

    /// <summary>Waits for a reply the agent owes; fails with AgentNotResponding once it sent nothing at all for the reply timeout.</summary>
    internal async Task<T> AwaitReplyAsync<T>(Task<T> reply, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await reply.WaitAsync(replyTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException) when (Stopwatch.GetElapsedTime(Interlocked.Read(ref lastWorkTimestamp)) < replyTimeout)
            {
                // Slow but alive: frames keep arriving (other requests' replies and output).
            }
            catch (TimeoutException)
            {
                throw AgentErrors.NotResponding(what, replyTimeout);
            }
        }
    }

    internal static Frame Expect(Frame frame, FrameType type) =>
        frame.Type == type ? frame : throw AgentErrors.ProtocolError($"The agent answered with {frame.Type} where {type} was expected.");

    internal static T Parse<T>(Frame frame, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return ProtocolJson.Deserialize(frame.Payload.Span, typeInfo);
        }
        catch (ProtocolException error)
        {
            throw AgentErrors.ProtocolError(error.Message, error);
        }
    }

    private static ExecStartMessage ToMessage(AgentExecRequest request)
    {
        if (request.Argv.Count == 0 || string.IsNullOrEmpty(request.Argv[0]))
        {
            throw new VmPsException(VmPsErrorIds.InvalidGuestCommand, VmPsErrorKind.InvalidArgument, "The command to run in the guest is empty.");
        }

        var environment = request.Environment?.Select(pair =>
            pair.Key.Length == 0 || pair.Key.Contains('=')
                ? throw new VmPsException(VmPsErrorIds.InvalidGuestEnvironment, VmPsErrorKind.InvalidArgument, $"'{pair.Key}' is not a valid environment variable name.", pair.Key)
                : $"{pair.Key}={pair.Value}").ToArray();
        var terminalSize = request.TerminalSize is { } size ? AgentTerminalSize.Validate(size.Columns, size.Rows) : null;
        return new ExecStartMessage(request.Argv, environment, request.WorkingDirectory, request.User, request.Tty, terminalSize);
    }

    private void ThrowIfLost()
    {
        if (this.lost is { } lost)
        {
            throw lost;
        }
    }

    /// <summary>A write that failed because the read loop ended the connection reports why it ended, not the closed stream.</summary>
    private async ValueTask WrapIoErrors(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception error) when (error is IOException or ObjectDisposedException)
        {
            throw lost ?? AgentErrors.ConnectionLost(error.Message, error);
        }
    }
}
