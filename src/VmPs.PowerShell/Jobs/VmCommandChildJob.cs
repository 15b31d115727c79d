using System.Management.Automation;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Jobs;

/// <summary>
/// One VM's part of an Invoke-VmCommand -AsJob: its results, -Stream lines and errors land in this job's streams.
/// Stop-Job cancels it, which kills the command in the guest. It fails unless the command ended with an exit code.
/// </summary>
internal sealed class VmCommandChildJob(string command, string vmName) : VmPsChildJob(command, vmName, JobTypeName), IVmCommandSink
{
    public const string JobTypeName = "VmCommandJob";

    public string VmName => Target;

    /// <summary>The exit code of the command once it ended.</summary>
    public int? ExitCode { get; private set; }

    public override string StatusMessage => ExitCode is { } code ? $"exit code {code}" : "";

    protected override bool Succeeded => ExitCode is not null;

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
}
