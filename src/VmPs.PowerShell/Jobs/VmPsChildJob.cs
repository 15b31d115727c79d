using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Errors;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Jobs;

/// <summary>
/// One target's part of a <see cref="VmPsJob"/>: runs an operation beside the session, and its output, errors,
/// progress and -Verbose step timings land in this job's streams for Receive-Job. Stop-Job cancels the operation.
/// </summary>
internal class VmPsChildJob : Job
{
    private readonly CancellationTokenSource stopping = new();
    private Task running = Task.CompletedTask;

    public VmPsChildJob(string command, string target, string jobTypeName)
        : base(command, target)
    {
        Target = target;
        PSJobTypeName = jobTypeName;
    }

    /// <summary>The VM or image source this part works on.</summary>
    public string Target { get; }

    public override string Location => Target;

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0;

    public override string StatusMessage => "";

    /// <summary>Whether a run that threw nothing succeeded; a VM command's part also needs an exit code.</summary>
    protected virtual bool Succeeded => true;

    /// <summary>Runs <paramref name="run"/> and ends Completed, Failed (it threw: the error is in the Error stream) or Stopped.</summary>
    public void Start(Func<CancellationToken, Task> run)
    {
        SetJobState(JobState.Running);
        running = Task.Run(() => run(stopping.Token)).ContinueWith(Finish, TaskScheduler.Default);
    }

    /// <summary>Runs an operation that reports progress, recording it (and each step's timing), its warnings and verbose lines in this job's streams.</summary>
    public void Start(string activity, Func<IOperationReport, CancellationToken, Task<PSObject?>> operation) =>
        Start(async cancellationToken =>
        {
            var progress = new StreamReport(this, activity);
            var output = await operation(progress, cancellationToken).ConfigureAwait(false);
            progress.Finish();
            if (output is not null)
            {
                Output.Add(output);
            }
        });

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

    internal static bool IsFinished(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stopping.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Finish(Task run)
    {
        if (stopping.IsCancellationRequested)
        {
            SetJobState(JobState.Stopped);
        }
        else if (run.Exception?.GetBaseException() is { } failure)
        {
            Error.Add(failure is VmPsException known
                ? known.ToErrorRecord()
                : new ErrorRecord(failure, VmPsErrorIds.VmPsJobFailed, ErrorCategory.NotSpecified, Target));
            SetJobState(JobState.Failed);
        }
        else
        {
            SetJobState(Succeeded ? JobState.Completed : JobState.Failed);
        }

        Output.Complete();
        Error.Complete();
        Progress.Complete();
        Verbose.Complete();
        Warning.Complete();
    }

    /// <summary>Progress reports as the job's progress records and, per step, its verbose timing lines; warnings and verbose lines as the job's.</summary>
    private sealed class StreamReport(VmPsChildJob job, string activity) : IOperationReport
    {
        private readonly object gate = new();
        private readonly StepTimer steps = new(activity);

        public void Report(VmProgress value)
        {
            lock (gate)
            {
                job.Progress.Add(ProgressRecords.From(activity, value));
                if (steps.Next(value) is { } line)
                {
                    job.Verbose.Add(new VerboseRecord(line));
                }
            }
        }

        public void Warn(string message)
        {
            lock (gate)
            {
                job.Warning.Add(new WarningRecord(message));
            }
        }

        public void Verbose(string message)
        {
            lock (gate)
            {
                job.Verbose.Add(new VerboseRecord(message));
            }
        }

        public void Finish()
        {
            lock (gate)
            {
                job.Progress.Add(ProgressRecords.Completed(activity));
                foreach (var line in steps.Finish())
                {
                    job.Verbose.Add(new VerboseRecord(line));
                }
            }
        }
    }
}
