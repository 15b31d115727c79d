using System.Management.Automation;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// Where a <see cref="VmCommandRun"/> sends what it produces: the cmdlet's pipeline, or a child job's streams.
/// Called from any thread. A write may wait while the pipeline is behind: that holds the guest command's output back
/// (flow control reaches the guest) instead of queueing it in the host's memory.
/// </summary>
internal interface IVmCommandSink
{
    /// <summary>A result object, or with -Stream a stdout line.</summary>
    ValueTask WriteOutputAsync(PSObject item, CancellationToken cancellationToken);

    /// <summary>A failure of one VM's command, or with -Stream a stderr line.</summary>
    ValueTask WriteErrorAsync(ErrorRecord error, CancellationToken cancellationToken);

    /// <summary>The command ended with this exit code (128 + signal when a signal killed it).</summary>
    ValueTask WriteExitCodeAsync(string vmName, int exitCode, CancellationToken cancellationToken);
}
