using System.Management.Automation;
using System.Threading.Channels;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Errors;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Runs Core's asynchronous calls to completion on the pipeline thread, which is the only thread
/// allowed to write output, errors and progress. Ctrl+C (StopProcessing) cancels the running call.
/// </summary>
public abstract class AsyncCmdlet : PSCmdlet, IDisposable
{
    private const int ProgressActivityId = 1;

    private readonly CancellationTokenSource stopping = new();

    /// <summary>
    /// Taken when PowerShell creates the cmdlet, on the pipeline thread: the environment (or the
    /// runspace's own services) at the start of this command.
    /// </summary>
    protected IVmPsServices Services { get; } = ModuleServices.Current;

    public void Dispose()
    {
        stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Cancelled by Ctrl+C (StopProcessing), for work the cmdlet runs beside the pipeline thread.</summary>
    protected CancellationToken StoppingToken => stopping.Token;

    protected override void StopProcessing() => stopping.Cancel();

    protected T Await<T>(Func<CancellationToken, Task<T>> operation) =>
        WaitOnPipelineThread(Task.Run(() => operation(stopping.Token)));

    protected void Await(Func<CancellationToken, Task> operation) =>
        Await(async cancellationToken =>
        {
            await operation(cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <summary>Like <see cref="Await{T}"/>, showing the operation's progress reports through Write-Progress.</summary>
    protected T AwaitWithProgress<T>(string activity, Func<IProgress<VmProgress>, CancellationToken, Task<T>> operation)
    {
        var updates = Channel.CreateUnbounded<VmProgress>(new UnboundedChannelOptions { SingleReader = true });
        var progress = new ChannelProgress(updates.Writer);
        var running = Task.Run(() => operation(progress, stopping.Token));
        running.ContinueWith(_ => updates.Writer.TryComplete(), TaskScheduler.Default);

        while (WaitOnPipelineThread(updates.Reader.WaitToReadAsync().AsTask()))
        {
            while (updates.Reader.TryRead(out var update))
            {
                WriteProgress(ToProgressRecord(activity, update));
            }
        }

        WriteProgress(new ProgressRecord(ProgressActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
        return WaitOnPipelineThread(running);
    }

    /// <summary>For calls that report no progress of their own but may take a while: one status line meanwhile.</summary>
    protected T AwaitWithStatus<T>(string activity, string status, Func<CancellationToken, Task<T>> operation) =>
        AwaitWithProgress(activity, (progress, cancellationToken) =>
        {
            progress.Report(new VmProgress(activity, status, -1));
            return operation(cancellationToken);
        });

    /// <summary>A -TimeoutSec value as a TimeSpan; null when the parameter was not given.</summary>
    protected static TimeSpan? Seconds(int? timeoutSec) => timeoutSec is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    protected void WriteError(VmPsException exception) => WriteError(exception.ToErrorRecord());

    protected void ThrowTerminatingError(VmPsException exception) => ThrowTerminatingError(exception.ToErrorRecord());

    /// <summary>Wraps a result in a PSObject carrying the module's PSTypeName (for example VmPs.Vm).</summary>
    protected void WriteTypedObject(object value, string psTypeName) => WriteObject(PSTypeNames.Tag(value, psTypeName));

    /// <summary>Blocks the pipeline thread until the task ends; Ctrl+C's cancellation becomes PipelineStoppedException.</summary>
    protected T WaitOnPipelineThread<T>(Task<T> task)
    {
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>A Core progress report as a Write-Progress record (also used for the progress of -AsJob jobs).</summary>
    internal static ProgressRecord ToProgressRecord(string activity, VmProgress update) =>
        new(ProgressActivityId, string.IsNullOrWhiteSpace(update.Activity) ? activity : update.Activity, string.IsNullOrWhiteSpace(update.Status) ? activity : update.Status)
        {
            PercentComplete = Math.Clamp(update.PercentComplete, -1, 100),
        };

    /// <summary>Core may report from any thread: queue the reports for the pipeline thread.</summary>
    private sealed class ChannelProgress(ChannelWriter<VmProgress> writer) : IProgress<VmProgress>
    {
        public void Report(VmProgress value) => writer.TryWrite(value);
    }
}
