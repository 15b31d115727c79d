using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Where a <see cref="VmCommandRun"/> sends what it produces: the cmdlet's pipeline, or a child job's streams.
/// Called from any thread.
/// </summary>
internal interface IVmCommandSink
{
    /// <summary>A result object, or with -Stream a stdout line.</summary>
    void WriteOutput(PSObject item);

    /// <summary>A failure of one VM's command, or with -Stream a stderr line.</summary>
    void WriteError(ErrorRecord error);

    /// <summary>The command ended with this exit code (128 + signal when a signal killed it).</summary>
    void WriteExitCode(string vmName, int exitCode);
}
