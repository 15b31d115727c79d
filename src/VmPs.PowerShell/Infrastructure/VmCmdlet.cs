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
    /// Runs <paramref name="process"/> for each target VM given as objects or as names (wildcards expand to the
    /// matching VMs; a literal name is looked up first, so an unknown VM fails under -WhatIf too). A failing VM is
    /// reported as a non-terminating error and the others go on.
    /// </summary>
    protected void ForEachTarget(VmInfo[]? vms, string[]? names, Action<string> process) =>
        ForEachNamed(
            vms?.Select(vm => vm.Name) ?? names ?? [],
            pattern => MatchingVms(pattern).Select(vm => vm.Name),
            name => Await(cancellationToken => Manager.GetAsync(name, cancellationToken)).Name,
            process);
}
