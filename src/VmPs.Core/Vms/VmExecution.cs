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
    private readonly SharedAgentConnections.Lease connection;
    private readonly AgentExecution execution;
    private int disposed;

    internal VmExecution(string vmName, SharedAgentConnections.Lease connection, AgentExecution execution)
    {
        VmName = vmName;
        this.connection = connection;
        this.execution = execution;
    }

    public string VmName { get; }

    public IReadOnlyList<string> Command => execution.Command;

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
        var status = await execution.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return new VmExecExit(status.ExitCode, status.Signal, execution.Elapsed);
    }

    /// <summary>
    /// Reads all the output and waits for the end: the buffered result of the command. A stream that passes
    /// <see cref="VmExecOptions.MaxOutputBytes"/> kills the command and fails with GuestOutputTooLarge.
    /// </summary>
    public async Task<VmCommandResult> ReadResultAsync(CancellationToken cancellationToken) =>
        ToResult(await execution.ReadToEndAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Writes <paramref name="standardInput"/> (if any) and closes stdin while reading the output; then the buffered result.</summary>
    public async Task<VmCommandResult> RunToEndAsync(string? standardInput, CancellationToken cancellationToken) =>
        ToResult(await execution.RunToEndAsync(standardInput is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(standardInput), cancellationToken).ConfigureAwait(false));

    /// <summary>Kills the command and everything it started; best effort.</summary>
    public Task KillAsync() => execution.KillAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        await KillAsync().ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private VmCommandResult ToResult(AgentExecResult result) => new()
    {
        VmName = VmName,
        Command = Command,
        ExitCode = result.ExitCode,
        Signal = result.Signal,
        Stdout = result.Stdout,
        Stderr = result.Stderr,
        Duration = result.Duration,
    };
}
