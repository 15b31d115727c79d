using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// One VM's part of an Invoke-VmCommand -AsJob: its results, -Stream lines and errors land in this job's streams.
/// Stop-Job cancels it, which kills the command in the guest.
/// </summary>
internal sealed class VmCommandChildJob : Job, IVmCommandSink
{
    private readonly CancellationTokenSource stopping = new();
    private Task running = Task.CompletedTask;

    public VmCommandChildJob(string command, string vmName)
        : base(command, vmName)
    {
        VmName = vmName;
        PSJobTypeName = VmCommandJob.JobTypeName;
    }

    public string VmName { get; }

    /// <summary>The exit code of the command once it ended.</summary>
    public int? ExitCode { get; private set; }

    public override string Location => VmName;

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0;

    public override string StatusMessage => ExitCode is { } code ? $"exit code {code}" : "";

    /// <summary>Runs <paramref name="run"/> (one VM's command) and ends in Completed, Failed (it wrote an error) or Stopped.</summary>
    public void Start(Func<CancellationToken, Task> run)
    {
        SetJobState(JobState.Running);
        running = Task.Run(() => run(stopping.Token)).ContinueWith(Finish, TaskScheduler.Default);
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

    ValueTask IVmCommandSink.WriteOutputAsync(PSObject item, CancellationToken cancellationToken)
    {
        Output.Add(item);
        return ValueTask.CompletedTask;
    }

    ValueTask IVmCommandSink.WriteErrorAsync(ErrorRecord error, CancellationToken cancellationToken)
    {
        Error.Add(error);
        return ValueTask.CompletedTask;
    }

    ValueTask IVmCommandSink.WriteExitCodeAsync(string vmName, int exitCode, CancellationToken cancellationToken)
    {
        ExitCode = exitCode;
        return ValueTask.CompletedTask;
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
        else if (run.Exception is { } failure)
        {
            Error.Add(new ErrorRecord(failure.GetBaseException(), "VmCommandJobFailed", ErrorCategory.NotSpecified, VmName));
            SetJobState(JobState.Failed);
        }
        else
        {
            SetJobState(ExitCode is null ? JobState.Failed : JobState.Completed);
        }

        Output.Complete();
        Error.Complete();
    }
}
