using System.Management.Automation;
using System.Threading.Channels;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.PowerShell.Errors;
using VmPs.PowerShell.Jobs;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Runs Core's asynchronous calls to completion on the pipeline thread, which is the only thread
/// allowed to write output, errors and progress. Ctrl+C (StopProcessing) cancels the running call.
/// </summary>
public abstract class AsyncCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private VmPsJob? job;

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

    /// <summary>Get-Job's PSJobTypeName for this command's -AsJob job: StartVmJob for Start-Vm.</summary>
    protected virtual string JobTypeName => MyInvocation.MyCommand.Name.Replace("-", "", StringComparison.Ordinal) + "Job";

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

    /// <summary>
    /// Like <see cref="Await{T}"/>, showing the operation's progress reports through Write-Progress and, with -Verbose,
    /// each step with the time it took; its warnings and verbose lines are written as they come.
    /// </summary>
    protected T AwaitWithProgress<T>(string activity, Func<IOperationReport, CancellationToken, Task<T>> operation)
    {
        var updates = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        var report = new ChannelReport(updates.Writer);
        var steps = new StepTimer(activity);
        var running = Task.Run(() => operation(report, stopping.Token));
        running.ContinueWith(_ => updates.Writer.TryComplete(), TaskScheduler.Default);

        while (WaitOnPipelineThread(updates.Reader.WaitToReadAsync().AsTask()))
        {
            while (updates.Reader.TryRead(out var update))
            {
                switch (update)
                {
                    case WarningRecord warning:
                        WriteWarning(warning.Message);
                        break;
                    case VerboseRecord verbose:
                        WriteVerbose(verbose.Message);
                        break;
                    case VmProgress stepUpdate:
                        WriteProgress(ProgressRecords.From(activity, stepUpdate));
                        if (steps.Next(stepUpdate) is { } line)
                        {
                            WriteVerbose(line);
                        }

                        break;
                }
            }
        }

        WriteProgress(ProgressRecords.Completed(activity));
        var result = WaitOnPipelineThread(running);
        foreach (var line in steps.Finish())
        {
            WriteVerbose(line);
        }

        return result;
    }

    /// <summary>
    /// A long operation on one target: run here with progress (its output written to the pipeline), or with
    /// <paramref name="asJob"/> as a child of this command's -AsJob job, whose output, errors, progress and step
    /// timings Receive-Job returns. The job is output when the command ends. Failures: here a
    /// <see cref="VmPsException"/> is thrown to the caller; in a job it is the child's error and the child fails.
    /// </summary>
    protected void RunOperation(bool asJob, string target, string activity, Func<IOperationReport, CancellationToken, Task<PSObject?>> operation)
    {
        if (!asJob)
        {
            if (AwaitWithProgress(activity, operation) is { } output)
            {
                WriteObject(output);
            }

            return;
        }

        job ??= new VmPsJob(MyInvocation.Line is { Length: > 0 } line ? line.Trim() : MyInvocation.MyCommand.Name, JobTypeName);
        var child = new VmPsChildJob($"{MyInvocation.MyCommand.Name} {target}", target, JobTypeName);
        job.Add(child);
        child.Start(activity, operation);
    }

    /// <summary><see cref="RunOperation(bool, string, string, Func{IOperationReport, CancellationToken, Task{PSObject?}})"/> for an operation that reports no progress of its own: one status line meanwhile.</summary>
    protected void RunOperation(bool asJob, string target, string activity, string status, Func<CancellationToken, Task<PSObject?>> operation) =>
        RunOperation(asJob, target, activity, (report, cancellationToken) =>
        {
            report.Report(new VmProgress(activity, status, -1));
            return operation(cancellationToken);
        });

    /// <summary>Outputs the -AsJob job once every target has a child in it.</summary>
    protected override void EndProcessing()
    {
        if (job is not null)
        {
            job.Seal();
            JobRepository.Add(job);
            WriteObject(job);
        }
    }

    /// <summary>For calls that report no progress of their own but may take a while: one status line meanwhile.</summary>
    protected T AwaitWithStatus<T>(string activity, string status, Func<CancellationToken, Task<T>> operation) =>
        AwaitWithProgress(activity, (progress, cancellationToken) =>
        {
            progress.Report(new VmProgress(activity, status, -1));
            return operation(cancellationToken);
        });

    /// <summary>
    /// ShouldProcess where -Force answers the confirmation, as in Hyper-V's Remove-VM: with <paramref name="force"/> the
    /// action runs without a prompt (reported by -Verbose), unless -WhatIf asks only to report it or an explicit -Confirm
    /// asks to be prompted anyway.
    /// </summary>
    protected bool ShouldProcess(string target, string action, bool force)
    {
        var bound = MyInvocation.BoundParameters;
        var whatIf = bound.TryGetValue("WhatIf", out var whatIfSwitch)
            ? ((SwitchParameter)whatIfSwitch).IsPresent
            : LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));
        if (!force || whatIf || bound.ContainsKey("Confirm"))
        {
            return ShouldProcess(target, action);
        }

        WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\" (-Force: not confirmed).");
        return true;
    }

    /// <summary>
    /// Runs <paramref name="process"/> for each name a pattern expands to through <paramref name="matching"/>, and for
    /// each literal name once <paramref name="lookup"/> found it (Core's NotFound error otherwise). Lookups come before
    /// the action, so an unknown name fails under -WhatIf too. A failing target is written as a non-terminating error
    /// and the others go on.
    /// </summary>
    protected void ForEachNamed(IEnumerable<string> patterns, Func<string, IEnumerable<string>> matching, Func<string, string> lookup, Action<string> process)
    {
        var targets = patterns.SelectMany(pattern => WildcardPattern.ContainsWildcardCharacters(pattern)
            ? matching(pattern).Select(name => (Func<string>)(() => name))
            : [() => lookup(pattern)]);
        foreach (var target in targets)
        {
            try
            {
                process(target());
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }

    /// <summary>
    /// An -Owner value as the stored user name (UserNotFound otherwise), checked before ShouldProcess; null or empty is null
    /// (the administrator owns it).
    /// </summary>
    protected string? ResolveOwner(string? owner) =>
        string.IsNullOrEmpty(owner) ? null : Await(cancellationToken => Services.Users.GetAsync(owner, cancellationToken)).Name;

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

    /// <summary>Core may report from any thread: queue the reports for the pipeline thread.</summary>
    private sealed class ChannelReport(ChannelWriter<object> writer) : IOperationReport
    {
        public void Report(VmProgress value) => writer.TryWrite(value);

        public void Warn(string message) => writer.TryWrite(new WarningRecord(message));

        public void Verbose(string message) => writer.TryWrite(new VerboseRecord(message));
    }
}
