using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Errors;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// A cmdlet's -AsJob for one long Core operation (Build-VmKernel): the operation runs on the thread pool, its
/// progress reports become the job's Progress records, its result the job's output and a failure its error.
/// The job ends Completed, Failed or, after Stop-Job (which cancels the operation and waits for it), Stopped.
/// </summary>
internal sealed class OperationJob : Job
{
    private readonly CancellationTokenSource stopping = new();
    private readonly string activity;
    private Task running = Task.CompletedTask;

    public OperationJob(string command, string jobTypeName, string activity, string location)
        : base(command)
    {
        PSJobTypeName = jobTypeName;
        this.activity = activity;
        Location = location;
    }

    public override string Location { get; }

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Progress.Count > 0;

    public override string StatusMessage => "";

    /// <summary>Starts the operation; <paramref name="writeResult"/> turns its result into the job's output object.</summary>
    public void Start<T>(Func<IProgress<VmProgress>, CancellationToken, Task<T>> operation, Func<T, PSObject> writeResult)
    {
        SetJobState(JobState.Running);
        var progress = new JobProgress(this);
        running = Task.Run(async () =>
        {
            try
            {
                Output.Add(writeResult(await operation(progress, stopping.Token).ConfigureAwait(false)));
                Finish(JobState.Completed);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Finish(JobState.Stopped);
            }
            catch (VmPsException failure)
            {
                Error.Add(failure.ToErrorRecord());
                Finish(JobState.Failed);
            }
            catch (Exception failure)
            {
                Error.Add(new ErrorRecord(failure, PSJobTypeName + "Failed", ErrorCategory.NotSpecified, Location));
                Finish(JobState.Failed);
            }
        });
    }

    public override void StopJob()
    {
        if (IsFinished(JobStateInfo.State))
        {
            return;
        }

        SetJobState(JobState.Stopping);
        stopping.Cancel();
        running.Wait();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stopping.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsFinished(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    private void Finish(JobState state)
    {
        Progress.Add(new ProgressRecord(1, activity, "Done") { RecordType = ProgressRecordType.Completed });
        Output.Complete();
        Error.Complete();
        Progress.Complete();
        SetJobState(state);
    }

    private sealed class JobProgress(OperationJob job) : IProgress<VmProgress>
    {
        public void Report(VmProgress value) => job.Progress.Add(AsyncCmdlet.ToProgressRecord(job.activity, value));
    }
}
