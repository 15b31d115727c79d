using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using VmPs.Core.Agent;

namespace VmPs.Core.Vms;

/// <summary>How a command in a VM ended.</summary>
public sealed record VmExecExit(int ExitCode, int? Signal, TimeSpan Duration);

/// <summary>
/// A command running in a VM (from <see cref="VmManager.StartExecAsync"/>): its output as it arrives, its stdin,
/// signals, and how it ended. It uses the VM's shared agent connection: disposing it kills the command if it still runs.
/// With a timeout, the command and everything it started are killed once it passes and
/// <see cref="WaitForExitAsync"/> fails with AgentExecTimeout.
/// </summary>
public sealed class VmExecution : IAsyncDisposable
{
    private const int SigKill = 9;
    private static readonly TimeSpan KillGracePeriod = TimeSpan.FromSeconds(5);

    private readonly SharedAgentConnections.Lease connection;
    private readonly AgentExecution execution;
    private readonly Stopwatch clock;
    private readonly TimeSpan? timeout;
    private readonly long maxOutputBytes;
    private readonly CancellationTokenSource timer = new();
    private readonly CancellationTokenRegistration timerKill;
    private int timedOut;
    private int disposed;

    internal VmExecution(string vmName, VmExecOptions options, SharedAgentConnections.Lease connection, AgentExecution execution, Stopwatch clock)
    {
        VmName = vmName;
        Command = options.Command;
        timeout = options.Timeout;
        maxOutputBytes = options.MaxOutputBytes;
        this.connection = connection;
        this.execution = execution;
        this.clock = clock;
        timerKill = timer.Token.Register(OnTimeout);
        if (timeout is { } limit)
        {
            // The limit counts from the start request, as the command's Duration does.
            timer.CancelAfter(TimeSpan.FromTicks(Math.Max(0, (limit - clock.Elapsed).Ticks)));
        }
    }

    public string VmName { get; }

    public IReadOnlyList<string> Command { get; }

    /// <summary>The process id in the guest.</summary>
    public int ProcessId => execution.Pid;

    /// <summary>Output chunks as the guest read them from each pipe; completes once the command ended and all output arrived.</summary>
    public IAsyncEnumerable<AgentOutputChunk> ReadOutputAsync(CancellationToken cancellationToken) =>
        execution.Output.ReadAllAsync(cancellationToken);

    /// <summary>The output split into lines as they complete, each stream's unfinished last line at the end.</summary>
    public async IAsyncEnumerable<VmOutputLine> ReadLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var splitter = new OutputLineSplitter();
        await foreach (var chunk in ReadOutputAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (var line in splitter.Add(chunk))
            {
                yield return line;
            }
        }

        foreach (var line in splitter.Flush())
        {
            yield return line;
        }
    }

    public ValueTask WriteStandardInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        execution.WriteStandardInputAsync(data, cancellationToken);

    /// <summary>Writes text as UTF-8.</summary>
    public ValueTask WriteStandardInputAsync(string text, CancellationToken cancellationToken) =>
        execution.WriteStandardInputAsync(Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>Signals end of input: the command reads end-of-file once it consumed what was written.</summary>
    public ValueTask CloseStandardInputAsync(CancellationToken cancellationToken) =>
        execution.CloseStandardInputAsync(cancellationToken);

    /// <summary>Sends a signal (15 is SIGTERM) to the command and everything it started.</summary>
    public ValueTask SignalAsync(int signal, CancellationToken cancellationToken) =>
        execution.SignalAsync(signal, processGroup: true, cancellationToken);

    /// <summary>Waits for the command to end; fails with AgentExecTimeout when the timeout killed it.</summary>
    public async Task<VmExecExit> WaitForExitAsync(CancellationToken cancellationToken)
    {
        var status = await execution.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Volatile.Read(ref timedOut) == 1
            ? throw TimedOut()
            : new VmExecExit(status.ExitCode, status.Signal, clock.Elapsed);
    }

    /// <summary>
    /// Reads all the output and waits for the end: the buffered result of the command. A stream that passes
    /// <see cref="VmExecOptions.MaxOutputBytes"/> kills the command and fails with GuestOutputTooLarge.
    /// </summary>
    public async Task<VmCommandResult> ReadResultAsync(CancellationToken cancellationToken)
    {
        var output = new AgentOutputBuffer(maxOutputBytes);
        await foreach (var chunk in ReadOutputAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!output.TryAdd(chunk))
            {
                await KillAsync().ConfigureAwait(false);
                throw AgentErrors.OutputTooLarge(chunk.Stream, maxOutputBytes, Command, VmName);
            }
        }

        var exit = await WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return new VmCommandResult
        {
            VmName = VmName,
            Command = Command,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            Stdout = output.Stdout,
            Stderr = output.Stderr,
            Duration = exit.Duration,
        };
    }

    /// <summary>
    /// Kills the command and everything it started (SIGKILL to its process group) and waits a few seconds for
    /// the guest to confirm. Best effort: a lost connection means there is nothing left to kill from here.
    /// </summary>
    public async Task KillAsync()
    {
        if (execution.Completion.IsCompleted)
        {
            return;
        }

        try
        {
            await execution.SignalAsync(SigKill, processGroup: true, CancellationToken.None).ConfigureAwait(false);
            await execution.Completion.WaitAsync(KillGracePeriod).ConfigureAwait(false);
        }
        catch (Exception error) when (error is VmPsException or TimeoutException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        await timerKill.DisposeAsync().ConfigureAwait(false);
        timer.Dispose();
        await KillAsync().ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private void OnTimeout()
    {
        if (!execution.Completion.IsCompleted)
        {
            Volatile.Write(ref timedOut, 1);
            _ = KillAsync();
        }
    }

    private VmPsException TimedOut() => new(
        "AgentExecTimeout",
        VmPsErrorKind.OperationTimeout,
        $"'{string.Join(' ', Command)}' did not finish within {timeout!.Value.TotalSeconds:0.###} s in VM '{VmName}' and was killed.",
        VmName);
}
