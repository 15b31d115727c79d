using VmPs.Core;
using VmPs.Core.Vms;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the cmdlets that work on VMs: the VM manager, name patterns, per-VM error handling.</summary>
public abstract class VmCmdlet : AsyncCmdlet
{
    protected IVmManager Manager => Services.Vms;

    protected void WriteVm(VmInfo vm) => WriteTypedObject(vm, PSTypeNames.Vm);

    /// <summary>The VMs whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<VmInfo> MatchingVms(string pattern) =>
        NamePatterns.Matching(Await(Manager.GetAllAsync), vm => vm.Name, pattern);

    /// <summary>
    /// Runs <paramref name="process"/> for each target VM given as objects or as names (wildcards expand to
    /// the matching VMs). A failing VM is reported as a non-terminating error and the others go on.
    /// </summary>
    protected void ForEachTarget(VmInfo[]? vms, string[]? names, Action<string> process)
    {
        var targets = vms is not null
            ? vms.Select(vm => vm.Name)
            : NamePatterns.Expand(names ?? [], pattern => MatchingVms(pattern).Select(vm => vm.Name));
        foreach (var name in targets)
        {
            try
            {
                process(name);
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
