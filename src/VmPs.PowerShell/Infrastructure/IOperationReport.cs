using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>
/// What a long operation reports while it runs: progress, and warnings and verbose lines. They reach the command's
/// own streams, or with -AsJob the child job's, so an operation is written once for both.
/// </summary>
public interface IOperationReport : IProgress<VmProgress>
{
    void Warn(string message);

    void Verbose(string message);
}
