using System.Management.Automation;
using VmPs.Core.Metering;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Measures what running (or paused) VMs have used, as Hyper-V's Measure-VM does: CPU time and memory of the
/// hypervisor, the guest's own memory view, disk and network bytes, uptime. A VM that is not running is a
/// non-terminating VmNotRunning error.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "Vm", DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmMeasurement))]
public sealed class MeasureVmCommand : VmTargetCmdlet
{
    protected override void ProcessVm(string name) =>
        WriteTypedObject(Await(cancellationToken => Manager.MeasureAsync(name, cancellationToken)), PSTypeNames.VmMeasurement);
}
