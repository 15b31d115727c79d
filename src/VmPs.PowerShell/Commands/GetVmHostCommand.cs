using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Reports what this host offers for running VMs: hypervisors, KVM, the default kernel, tools.
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmHost")]
[OutputType(typeof(HostReport))]
public sealed class GetVmHostCommand : AsyncCmdlet
{
    protected override void EndProcessing()
    {
        try
        {
            var report = AwaitWithStatus("Probing the host", "Checking hypervisors, KVM, kernel and tools", cancellationToken => Services.Host.GetReportAsync(refresh: true, cancellationToken));
            WriteTypedObject(report, PSTypeNames.VmHost);
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }
    }
}
