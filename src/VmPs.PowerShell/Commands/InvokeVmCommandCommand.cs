using System.Collections;
using System.Management.Automation;
using System.Threading.Channels;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Jobs;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Runs a command in VMs through their guest agent. -Command is an argument vector (Invoke-VmCommand web uname, -r);
/// -ScriptBlock's and -Script's text is run by the guest's /bin/sh -c. VMs come from -Name, or from the pipeline
/// (-Vm); with -Name, pipeline input is the command's stdin. All VMs run in parallel up to -ThrottleLimit.
/// A non-zero exit code is a result, not an error; $LASTEXITCODE is set as for a native command.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "VmCommand", SupportsShouldProcess = true, DefaultParameterSetName = NameCommandSet)]
[OutputType(typeof(VmCommandResult), typeof(string), typeof(Job))]
public sealed class InvokeVmCommandCommand : VmCmdlet
{
    private const string NameCommandSet = "NameCommand";
    private const string NameScriptBlockSet = "NameScriptBlock";
    private const string NameScriptSet = "NameScript";
    private const string VmCommandSet = "VmCommand";
    private const string VmScriptBlockSet = "VmScriptBlock";
    private const string VmScriptSet = "VmScript";

    private readonly List<VmCommandRun> runs = [];
    private readonly List<Task> running = [];
    // Bounded: a pipeline that falls behind holds the guests' output back instead of queueing it here.
    private const int PipelineCapacity = 64;

    private readonly Channel<object> pipeline = Channel.CreateBounded<object>(new BoundedChannelOptions(PipelineCapacity) { SingleReader = true });
    private PipelineSink? pipelineSink;
    private VmPsJob? job;
    private SemaphoreSlim? throttle;
    private VmExecOptions? options;
    private int? lastExitCode;

    // Takes no pipeline input: the pipeline is the command's stdin in these sets, and VMs from the pipeline bind to -Vm.
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameCommandSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameScriptBlockSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameScriptSet)]
    [Alias("VmName")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>VMs from the pipeline: VM objects, names, or objects with a VmName or Name property.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = VmCommandSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = VmScriptBlockSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = VmScriptSet)]
    [VmName]
    [ValidateNotNullOrEmpty]
    public string[] Vm { get; set; } = [];

    /// <summary>The program and its arguments, run without a shell.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameCommandSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VmCommandSet)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    /// <summary>Shell text for the guest's /bin/sh -c; it is not PowerShell and runs in the guest.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameScriptBlockSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = VmScriptBlockSet)]
    [ValidateNotNull]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <summary>Shell text for the guest's /bin/sh -c as a plain string, for text that is not valid PowerShell.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameScriptSet)]
    [Parameter(Mandatory = true, ParameterSetName = VmScriptSet)]
    [ValidateNotNullOrEmpty]
    public string? Script { get; set; }

    /// <summary>The command's stdin: pipeline objects with -Name, or a value given once for every VM.</summary>
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameCommandSet)]
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameScriptBlockSet)]
    [Parameter(ValueFromPipeline = true, ParameterSetName = NameScriptSet)]
    [Parameter(ParameterSetName = VmCommandSet)]
    [Parameter(ParameterSetName = VmScriptBlockSet)]
    [Parameter(ParameterSetName = VmScriptSet)]
    [AllowNull]
    [AllowEmptyString]
    public object? InputObject { get; set; }

    [Parameter]
    public SwitchParameter Stream { get; set; }

    /// <summary>
    /// The most bytes of stdout, and of stderr, a result holds (default 16 MiB); a command that writes more is stopped
    /// with GuestOutputTooLarge. -Stream has no such limit.
    /// </summary>
    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long MaxOutputBytes { get; set; } = AgentOutputBuffer.DefaultMaxBytesPerStream;

    /// <summary>Environment variables added to the command's environment.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Environment { get; set; }

    /// <summary>Directory in the guest to run the command in.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Guest user (and group) to run as: name, uid, name:group or uid:gid.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? User { get; set; }

    /// <summary>Kill the command when it runs longer than this.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? TimeoutSec { get; set; }

    /// <summary>How many VMs run the command at the same time.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ThrottleLimit { get; set; } = 32;

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>Name of the job -AsJob creates.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? JobName { get; set; }

    private bool TargetsFromPipeline => ParameterSetName is VmCommandSet or VmScriptBlockSet or VmScriptSet;

    protected override void BeginProcessing()
    {
        options = CreateOptions();
        throttle = new SemaphoreSlim(ThrottleLimit);
        pipelineSink = new PipelineSink(pipeline.Writer);
        if (AsJob)
        {
            job = new VmPsJob(CommandText, VmCommandChildJob.JobTypeName);
            if (JobName is not null)
            {
                job.Name = JobName;
            }
        }

        if (!TargetsFromPipeline)
        {
            var names = NamePatterns.Expand(Name, pattern => MatchingVms(pattern).Select(vm => vm.Name)).ToList();
            foreach (var name in names)
            {
                StartRun(name);
            }
        }
    }

    protected override void ProcessRecord()
    {
        if (TargetsFromPipeline)
        {
            foreach (var name in Vm)
            {
                var run = StartRun(name);
                if (run is not null)
                {
                    WriteInputTo(run);
                    run.CloseInput();
                }
            }
        }
        else
        {
            runs.ForEach(WriteInputTo);
        }

        WriteQueued();
    }

    protected override void EndProcessing()
    {
        runs.ForEach(run => run.CloseInput());
        if (job is not null)
        {
            job.Seal();
            JobRepository.Add(job);
            WriteObject(job);
            return;
        }

        var allDone = Task.WhenAll(running);
        allDone.ContinueWith(_ => pipeline.Writer.TryComplete(), TaskScheduler.Default);
        while (WaitOnPipelineThread(pipeline.Reader.WaitToReadAsync().AsTask()))
        {
            WriteQueued();
        }

        // After Ctrl+C this waits for the guest commands to be killed, then stops the pipeline.
        Await(_ => allDone);
        if (lastExitCode is { } exitCode)
        {
            SessionState.PSVariable.Set("global:LASTEXITCODE", exitCode);
        }
    }

    protected override void StopProcessing()
    {
        base.StopProcessing();
        job?.StopJob();
    }

    private string CommandText => string.Join(' ', options!.Command);

    /// <summary>Starts the command in one VM unless -WhatIf or a "no" to -Confirm says otherwise.</summary>
    private VmCommandRun? StartRun(string name)
    {
        try
        {
            name = Await(cancellationToken => Manager.GetAsync(name, cancellationToken)).Name;
        }
        catch (VmPsException exception) when (job is not null)
        {
            // With -AsJob a VM's failure belongs to its child job, as a failure of a running command does.
            var failed = new VmCommandChildJob(CommandText, name);
            job.Add(failed);
            failed.Start(_ => Task.FromException(exception));
            return null;
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
            return null;
        }

        if (!ShouldProcess(name, $"Run '{CommandText}'"))
        {
            return null;
        }

        var stream = Stream.IsPresent;
        var runOptions = options!;
        var vmThrottle = throttle!;
        if (job is not null)
        {
            var child = new VmCommandChildJob(CommandText, name);
            var jobRun = new VmCommandRun(name, child);
            job.Add(child);
            child.Start(cancellationToken => jobRun.RunAsync(Manager, runOptions, stream, vmThrottle, cancellationToken));
            runs.Add(jobRun);
            return jobRun;
        }

        var run = new VmCommandRun(name, pipelineSink!);
        running.Add(Task.Run(() => run.RunAsync(Manager, runOptions, stream, vmThrottle, StoppingToken)));
        runs.Add(run);
        return run;
    }

    private void WriteInputTo(VmCommandRun run)
    {
        if (InputObject is not null)
        {
            run.WriteInput(StandardInputText.ToBytes(InputObject));
        }
    }

    /// <summary>Writes what the runs produced so far: output and errors only reach the pipeline from this thread.</summary>
    private void WriteQueued()
    {
        while (pipeline.Reader.TryRead(out var item))
        {
            switch (item)
            {
                case PSObject output:
                    WriteObject(output);
                    break;
                case ErrorRecord error:
                    WriteError(error);
                    break;
                case int exitCode:
                    // As for a native command, but over many VMs: 0 when all succeeded, else the last failure's.
                    lastExitCode = exitCode != 0 ? exitCode : lastExitCode ?? 0;
                    break;
            }
        }
    }

    private VmExecOptions CreateOptions() => new()
    {
        Command = ScriptBlock is not null ? ShellCommand(ScriptBlock.ToString().Trim())
            : Script is not null ? ShellCommand(Script)
            : Command,
        Environment = Environment?.Cast<DictionaryEntry>().ToDictionary(
            entry => LanguagePrimitives.ConvertTo<string>(entry.Key),
            entry => LanguagePrimitives.ConvertTo<string>(entry.Value) ?? "",
            StringComparer.Ordinal),
        WorkingDirectory = WorkingDirectory,
        User = User,
        Timeout = Seconds(TimeoutSec),
        MaxOutputBytes = MaxOutputBytes,
    };

    private static string[] ShellCommand(string text) => ["/bin/sh", "-c", text];

    /// <summary>Queues what the runs produce for the pipeline thread, which alone may write it.</summary>
    private sealed class PipelineSink(ChannelWriter<object> queue) : IVmCommandSink
    {
        public ValueTask WriteOutputAsync(PSObject item, CancellationToken cancellationToken) => queue.WriteAsync(item, cancellationToken);

        public ValueTask WriteErrorAsync(ErrorRecord error, CancellationToken cancellationToken) => queue.WriteAsync(error, cancellationToken);

        public ValueTask WriteExitCodeAsync(string vmName, int exitCode, CancellationToken cancellationToken) => queue.WriteAsync(exitCode, cancellationToken);
    }
}
