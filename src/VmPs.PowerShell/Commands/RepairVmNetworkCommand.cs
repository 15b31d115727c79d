using System.Management.Automation;
using VmPs.Core.Network;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Brings VM networks (all of them, those named, or network objects piped in) back to what their records
/// describe: the bridge, its gateway address, forwarding and the firewall rules are restored, the TAPs of
/// running VMs put back on their bridge, and the TAPs of VMs that are not running removed. What cannot be
/// fixed in place (a running VM whose hypervisor lost its TAP) is a warning that says what to do.
/// Get-VmNetwork shows what differs (Status, Problems) without changing anything.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "VmNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(NetworkInfo))]
public sealed class RepairVmNetworkCommand : NetworkCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Network")]
    [NetworkName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public NetworkInfo[] InputObject { get; set; } = [];

    /// <summary>Output each network after its repair.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => ForEachNetwork(ParameterSetName == InputObjectSet ? InputObject : null, Name ?? ["*"], Repair);

    private void Repair(string name)
    {
        var found = Await(cancellationToken => Vms.RepairNetworkAsync(name, dryRun: true, cancellationToken));
        NetworkRepairResult? outcome = found;
        if (found.Repairs.Count == 0)
        {
            WriteVerbose($"VM network '{name}': nothing to repair.");
        }
        else if (ShouldProcess(name, $"Repair VM network: {string.Join("; ", found.Repairs)}"))
        {
            outcome = Await(cancellationToken => Vms.RepairNetworkAsync(name, dryRun: false, cancellationToken));
            foreach (var repair in outcome.Repairs)
            {
                WriteVerbose($"VM network '{name}': {repair}.");
            }
        }
        else
        {
            // -WhatIf, or the user declined: nothing changed, so there is nothing to pass through.
            outcome = null;
        }

        foreach (var problem in (outcome ?? found).Unrepairable)
        {
            WriteWarning($"VM network '{name}': {problem}");
        }

        if (PassThru && outcome is not null)
        {
            WriteNetwork(outcome.Network);
        }
    }
}
