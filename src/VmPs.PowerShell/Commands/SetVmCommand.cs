using System.Collections;
using System.Management.Automation;
using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Changes a VM's CPUs and memory, as Hyper-V's Set-VM -ProcessorCount -MemoryStartupBytes does: a stopped VM's for its
/// next Start-Vm, a running VM's at once where its hypervisor hot-plugs them; otherwise the VM is refused ("stop the VM
/// first"), under -WhatIf too. -MetadataOptions changes EC2's HttpTokens, on a running VM at once. -IsoPath puts another
/// ISO into a stopped firmware-booted VM's CD-ROM drive, or with $null empties it so the VM boots its disk (Hyper-V's
/// Set-VMDvdDrive -Path).
/// </summary>
[Cmdlet(VerbsCommon.Set, "Vm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(VmInfo))]
public sealed class SetVmCommand : VmTargetCmdlet
{
    [Parameter]
    [Alias("CpuCount", "ProcessorCount")]
    public int? Cpus { get; set; }

    [Parameter]
    [Alias("MemoryMiB")]
    public int? MemoryMB { get; set; }

    /// <summary>EC2's instance metadata options: @{ HttpTokens = 'required' } or 'optional'.</summary>
    [Parameter]
    public Hashtable? MetadataOptions { get; set; }

    /// <summary>The ISO the stopped VM boots next from its CD-ROM drive; $null or '' ejects it, so the VM boots its disk.</summary>
    [Parameter]
    [AllowNull]
    [AllowEmptyString]
    public string? IsoPath { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessVm(string name)
    {
        var changeIso = MyInvocation.BoundParameters.ContainsKey(nameof(IsoPath));
        var isoPath = string.IsNullOrEmpty(IsoPath) ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(IsoPath);
        var options = new VmSetOptions
        {
            Cpus = Cpus,
            MemoryMiB = MemoryMB,
            MetadataHttpTokens = VmMetadataOptions.ParseHttpTokens(MetadataOptions, name),
            ChangeIsoPath = changeIso,
            IsoPath = isoPath,
        };
        var before = Await(cancellationToken => Manager.SetAsync(name, options, dryRun: true, cancellationToken));
        var action = string.Join(
            ", ",
            new[]
            {
                Cpus is { } cpus ? $"CPUs {before.Cpus} -> {cpus}" : null,
                MemoryMB is { } memory ? $"memory {before.MemoryMiB} -> {memory} MiB" : null,
                options.MetadataHttpTokens is { } tokens ? $"metadata HttpTokens {before.MetadataHttpTokens} -> {tokens}" : null,
                changeIso ? $"ISO {before.IsoPath ?? "(none)"} -> {isoPath ?? "(none: boot the disk)"}" : null,
            }.OfType<string>());
        if (!ShouldProcess(name, action.Length == 0 ? "Set VM (no change asked)" : $"Set {action}"))
        {
            return;
        }

        var vm = Await(cancellationToken => Manager.SetAsync(name, options, dryRun: false, cancellationToken));
        if (PassThru)
        {
            WriteVm(vm);
        }
    }
}
