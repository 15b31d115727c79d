using System.Threading.Channels;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.PowerShell.Errors;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// One VM's part of an Invoke-VmCommand: waits for a throttle slot, starts the command, feeds it the stdin
/// queued with <see cref="WriteInput"/> until <see cref="CloseInput"/>, and sends its output, exit code or
/// failure to a sink. Cancelling kills the command in the guest.
/// </summary>
internal sealed class VmCommandRun(string vmName, IVmCommandSink sink)
{
    private readonly Channel<ReadOnlyMemory<byte>> input = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });

    public string VmName { get; } = vmName;

    public void WriteInput(ReadOnlyMemory<byte> data) => input.Writer.TryWrite(data);

    public void CloseInput() => input.Writer.TryComplete();

    /// <summary>Runs to the end; a VmPsException is reported to the sink, cancellation is thrown.</summary>
    public async Task RunAsync(IVmManager manager, VmExecOptions options, bool stream, SemaphoreSlim throttle, CancellationToken cancellationToken)
    {
        await throttle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var execution = await manager.StartExecAsync(VmName, options, cancellationToken).ConfigureAwait(false);
            using var inputDone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var feeding = FeedInputAsync(execution, inputDone.Token);
            var exitCode = stream
                ? (await StreamLinesAsync(execution, cancellationToken).ConfigureAwait(false)).ExitCode
                : await CollectAsync(execution, cancellationToken).ConfigureAwait(false);

            // A command may end without reading all its input (head -1): stop feeding it.
            await inputDone.CancelAsync().ConfigureAwait(false);
            await feeding.ConfigureAwait(false);
            await sink.WriteExitCodeAsync(VmName, exitCode, cancellationToken).ConfigureAwait(false);
        }
        catch (VmPsException error)
        {
            await sink.WriteErrorAsync(error.ToErrorRecord(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            throttle.Release();
        }
    }

    private async Task<VmExecExit> StreamLinesAsync(VmExecution execution, CancellationToken cancellationToken)
    {
        await foreach (var line in execution.ReadLinesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (line.Stream == AgentOutputStream.Stdout)
            {
                await sink.WriteOutputAsync(VmCommandRecords.OutputLine(VmName, line.Text), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await sink.WriteErrorAsync(VmCommandRecords.ErrorLine(VmName, line.Text), cancellationToken).ConfigureAwait(false);
            }
        }

        return await execution.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> CollectAsync(VmExecution execution, CancellationToken cancellationToken)
    {
        var result = await execution.ReadResultAsync(cancellationToken).ConfigureAwait(false);
        await sink.WriteOutputAsync(VmCommandRecords.Result(result), cancellationToken).ConfigureAwait(false);
        return result.ExitCode;
    }

    private async Task FeedInputAsync(VmExecution execution, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var data in input.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await execution.WriteStandardInputAsync(data, cancellationToken).ConfigureAwait(false);
            }

            await execution.CloseStandardInputAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (VmPsException)
        {
            // The connection failed or the command is gone: reading its output reports what matters.
        }
    }
}
