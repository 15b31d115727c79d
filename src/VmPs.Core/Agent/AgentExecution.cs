using System.Diagnostics;
using System.Threading.Channels;
using VmPs.Protocol;
using VmPs.Protocol.Flow;
using VmPs.Protocol.Framing;
using VmPs.Protocol.Messages;

namespace VmPs.Core.Agent;

/// <summary>
/// A process running in the guest: its output as it arrives, its stdin, signals, its terminal, and how it ended.
/// <see cref="Output"/> completes when the process has ended and all its output was received.
/// Output is flow-controlled: the guest sends at most <see cref="ExecFlowControl.OutputWindow"/> bytes ahead
/// of what was read from <see cref="Output"/>, so a caller must read it (or the process blocks on a full pipe
/// and <see cref="Completion"/> waits with it). This is the one exec path: <see cref="AgentClient.ExecAsync"/> and
/// the cmdlets' <see cref="Vms.VmExecution"/> both read, time out and kill through it.
/// </summary>
public sealed class AgentExecution : IAgentChannel
{
    private const int StdinChunk = 64 * 1024;
    private const int OutputCreditBatch = ExecFlowControl.OutputWindow / 4;
    private const int SigKill = 9;
    private static readonly TimeSpan KillGracePeriod = TimeSpan.FromSeconds(5);

    private readonly AgentClient client;
    private readonly uint channel;
    private readonly AgentExecRequest request;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource<int> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AgentExitStatus> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<AgentOutputChunk> output = Channel.CreateUnbounded<AgentOutputChunk>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly CreditWindow stdinCredit = new(ExecFlowControl.StdinWindow);
    private readonly SemaphoreSlim stdinOrder = new(1, 1);
    private int consumedUncredited;
    private long bufferedOutputBytes;
    private long outputReceived;
    private long outputGranted = ExecFlowControl.OutputWindow;
    private int killedAtDeadline;

    internal AgentExecution(AgentClient client, uint channel, AgentExecRequest request)
    {
        this.client = client;
        this.channel = channel;
        this.request = request;
        IsTerminal = request.Tty;
        Output = new CreditingReader(output.Reader, OnConsumed);
    }

    /// <summary>The command line as requested.</summary>
    public IReadOnlyList<string> Command => request.Argv;

    /// <summary>The process id in the guest.</summary>
    public int Pid => started.Task.IsCompletedSuccessfully ? started.Task.Result : 0;

    /// <summary>True when the process runs on a pseudo-terminal (its output then comes as Stdout only).</summary>
    public bool IsTerminal { get; }

    public ChannelReader<AgentOutputChunk> Output { get; }

    public Task<AgentExitStatus> Completion => completion.Task;

    internal Task<int> Started => started.Task;

    /// <summary>The time since the start request was sent.</summary>
    internal TimeSpan Elapsed => clock.Elapsed;

    /// <summary>Output received and not yet read from <see cref="Output"/>; flow control keeps it within a window.</summary>
    internal long BufferedOutputBytes => Interlocked.Read(ref bufferedOutputBytes);

    /// <summary>
    /// Sends bytes to the process's stdin (on a terminal: as typed keys, so 0x03 is Ctrl+C). Waits while the
    /// guest holds a window's worth not yet passed on to the process; bytes sent after the process ended are dropped.
    /// </summary>
    public async ValueTask WriteStandardInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await stdinOrder.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var offset = 0; offset < data.Length; offset += StdinChunk)
            {
                var chunk = data.Slice(offset, Math.Min(StdinChunk, data.Length - offset));
                if (!await stdinCredit.TakeAsync(chunk.Length, cancellationToken).ConfigureAwait(false))
                {
                    ThrowIfConnectionLost();
                    return;
                }

                await client.SendAsync(FrameType.Stdin, channel, chunk, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            stdinOrder.Release();
        }
    }

    /// <summary>Ends stdin (EOF for a pipe). On a terminal nothing is sent: type Ctrl+D (0x04) to end a shell's input.</summary>
    public async ValueTask CloseStandardInputAsync(CancellationToken cancellationToken)
    {
        await stdinOrder.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await client.SendAsync(FrameType.StdinClose, channel, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stdinOrder.Release();
        }
    }

    /// <summary>
    /// Sends a signal (for example 15 for SIGTERM) to the process, or with <paramref name="processGroup"/> to
    /// every process it started too; ignored once the exec has ended.
    /// </summary>
    public ValueTask SignalAsync(int signal, bool processGroup, CancellationToken cancellationToken) =>
        Completion.IsCompleted
            ? ValueTask.CompletedTask
            : client.SendJsonAsync(FrameType.Signal, channel, new SignalMessage(signal, processGroup), ProtocolJsonContext.Default.SignalMessage, cancellationToken);

    /// <summary>
    /// Kills the process and everything it started (SIGKILL to its process group) and waits a few seconds for
    /// the guest to confirm. Best effort: a lost connection means there is nothing left to kill from here.
    /// </summary>
    public async Task KillAsync()
    {
        if (Completion.IsCompleted)
        {
            return;
        }

        try
        {
            await SignalAsync(SigKill, processGroup: true, CancellationToken.None).ConfigureAwait(false);
            await Completion.WaitAsync(KillGracePeriod).ConfigureAwait(false);
        }
        catch (Exception error) when (error is VmPsException or TimeoutException)
        {
        }
    }

    /// <summary>Arms <see cref="AgentExecRequest.Timeout"/> once the guest has started the process.</summary>
    internal void StartTimeout()
    {
        if (request.Timeout is { } limit)
        {
            _ = KillAtDeadlineAsync(limit);
        }
    }

    /// <summary>
    /// Waits for the process to end. Fails with AgentExecTimeout when <see cref="AgentExecRequest.Timeout"/> passed
    /// and the process was killed for it.
    /// </summary>
    public async Task<AgentExitStatus> WaitForExitAsync(CancellationToken cancellationToken)
    {
        var status = await Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Volatile.Read(ref killedAtDeadline) == 1
            ? throw AgentErrors.ExecTimedOut(request.Argv, request.Timeout!.Value, request.VmName)
            : status;
    }

    /// <summary>
    /// Reads all the output and waits for the exit: the buffered result (a non-zero exit is a result, not an error).
    /// A stream passing <see cref="AgentExecRequest.MaxOutputBytes"/> kills the process and fails with
    /// GuestOutputTooLarge; the timeout fails with AgentExecTimeout; cancelling kills the process.
    /// </summary>
    public async Task<AgentExecResult> ReadToEndAsync(CancellationToken cancellationToken)
    {
        try
        {
            var output = new AgentOutputBuffer(request.MaxOutputBytes);
            await foreach (var chunk in Output.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!output.TryAdd(chunk))
                {
                    await KillAsync().ConfigureAwait(false);
                    throw AgentErrors.OutputTooLarge(chunk.Stream, output.MaxBytesPerStream, request.Argv, request.VmName);
                }
            }

            var exit = await WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return new AgentExecResult(exit.ExitCode, exit.Signal, output.Stdout, output.Stderr, Elapsed);
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="standardInput"/> and closes stdin while reading the output (a command that echoes
    /// its input would otherwise stall once its output filled the window), then as <see cref="ReadToEndAsync"/>.
    /// </summary>
    public async Task<AgentExecResult> RunToEndAsync(ReadOnlyMemory<byte> standardInput, CancellationToken cancellationToken)
    {
        var reading = ReadToEndAsync(cancellationToken);
        try
        {
            if (!standardInput.IsEmpty)
            {
                await WriteStandardInputAsync(standardInput, cancellationToken).ConfigureAwait(false);
            }

            await CloseStandardInputAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
            throw;
        }

        return await reading.ConfigureAwait(false);
    }

    /// <summary>Changes the window size of a TTY exec's terminal (the guest's foreground process gets SIGWINCH).</summary>
    public ValueTask ResizeTerminalAsync(int columns, int rows, CancellationToken cancellationToken)
    {
        if (!IsTerminal)
        {
            throw new VmPsException(VmPsErrorIds.GuestExecHasNoTerminal, VmPsErrorKind.InvalidOperation, "Only an exec started with Tty has a terminal to resize.");
        }

        var size = AgentTerminalSize.Validate(columns, rows);
        return Completion.IsCompleted
            ? ValueTask.CompletedTask
            : client.SendJsonAsync(FrameType.TtyResize, channel, size, ProtocolJsonContext.Default.TerminalSizeMessage, cancellationToken);
    }

    void IAgentChannel.OnFrame(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.ExecStarted:
                started.TrySetResult(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecStartedMessage).Pid);
                break;
            case FrameType.Stdout:
                Receive(AgentOutputStream.Stdout, frame.Payload);
                break;
            case FrameType.Stderr:
                Receive(AgentOutputStream.Stderr, frame.Payload);
                break;
            case FrameType.StdinCredit:
                stdinCredit.Return(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.CreditMessage).Bytes);
                break;
            case FrameType.ExecExit:
                var exit = ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ExecExitMessage);
                var status = exit.Signal is { } signal ? new AgentExitStatus(128 + signal, signal) : new AgentExitStatus(exit.ExitCode ?? -1, null);
                Finish(status, null);
                break;
            case FrameType.Error when !started.Task.IsCompleted:
                var error = AgentErrors.FromAgent(ProtocolJson.Deserialize(frame.Payload.Span, ProtocolJsonContext.Default.ErrorMessage));
                started.TrySetException(error);
                Finish(null, error);
                break;
        }
    }

    void IAgentChannel.OnConnectionLost(VmPsException error)
    {
        started.TrySetException(error);
        Finish(null, error);
    }

    /// <summary>Kills the process once the limit (counted from the start request) passes with it still running.</summary>
    private async Task KillAtDeadlineAsync(TimeSpan limit)
    {
        using var ended = new CancellationTokenSource();
        var deadline = Task.Delay(limit > Elapsed ? limit - Elapsed : TimeSpan.Zero, ended.Token);
        if (await Task.WhenAny(Completion, deadline).ConfigureAwait(false) == deadline && !Completion.IsCompleted)
        {
            Volatile.Write(ref killedAtDeadline, 1);
            await KillAsync().ConfigureAwait(false);
        }

        // The process ended first: stop the timer.
        await ended.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Queues output; a guest sending more than the window plus the credit returned breaks the protocol.</summary>
    private void Receive(AgentOutputStream stream, ReadOnlyMemory<byte> data)
    {
        if (Interlocked.Add(ref outputReceived, data.Length) > Interlocked.Read(ref outputGranted))
        {
            throw new ProtocolException($"The agent sent output of exec channel {channel} beyond the credit it was given.");
        }

        Interlocked.Add(ref bufferedOutputBytes, data.Length);
        output.Writer.TryWrite(new AgentOutputChunk(stream, data));
    }

    private void Finish(AgentExitStatus? status, VmPsException? error)
    {
        client.Release(channel);
        stdinCredit.Close();
        output.Writer.TryComplete(error);
        if (status is not null)
        {
            completion.TrySetResult(status);
        }
        else
        {
            completion.TrySetException(error!);
        }
    }

    private void ThrowIfConnectionLost()
    {
        if (Completion.IsFaulted && Completion.Exception?.InnerException is VmPsException lost)
        {
            throw lost;
        }
    }

    /// <summary>Returns output credit in batches, so the guest is not sent a frame for every chunk read.</summary>
    private void OnConsumed(int bytes)
    {
        Interlocked.Add(ref bufferedOutputBytes, -bytes);
        var pending = Interlocked.Add(ref consumedUncredited, bytes);
        if (pending < OutputCreditBatch || Completion.IsCompleted)
        {
            return;
        }

        var credit = Interlocked.Exchange(ref consumedUncredited, 0);
        if (credit > 0)
        {
            // Counted before it is sent: the guest may use it as soon as it arrives.
            Interlocked.Add(ref outputGranted, credit);
            _ = ReturnOutputCreditAsync(credit);
        }
    }

    private async Task ReturnOutputCreditAsync(int bytes)
    {
        try
        {
            await client.SendJsonAsync(FrameType.OutputCredit, channel, new CreditMessage(bytes), ProtocolJsonContext.Default.CreditMessage, CancellationToken.None).ConfigureAwait(false);
        }
        catch (VmPsException)
        {
            // The connection is gone; the exec fails through the read loop.
        }
    }

    /// <summary>The exec's output as callers see it: every chunk taken out counts as consumed for flow control.</summary>
    private sealed class CreditingReader(ChannelReader<AgentOutputChunk> inner, Action<int> consumed) : ChannelReader<AgentOutputChunk>
    {
        public override Task Completion => inner.Completion;

        public override bool CanCount => inner.CanCount;

        public override int Count => inner.Count;

        public override bool CanPeek => inner.CanPeek;

        public override bool TryPeek(out AgentOutputChunk item) => inner.TryPeek(out item);

        public override bool TryRead(out AgentOutputChunk item)
        {
            if (!inner.TryRead(out item))
            {
                return false;
            }

            consumed(item.Data.Length);
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(cancellationToken);
    }
}
