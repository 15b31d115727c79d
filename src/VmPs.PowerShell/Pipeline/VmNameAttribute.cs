using VmPs.Core.Vms;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Pipeline;

/// <summary>VM names from the pipeline: names, VM objects, objects with a VmName property (command results, adapters, port mappings), VM rows.</summary>
public sealed class VmNameAttribute : PipelineNameAttribute
{
    protected override Type ConceptType => typeof(VmInfo);

    protected override IReadOnlyList<string> ConceptTypeNames => [PSTypeNames.Vm];

    protected override string Noun => "a VM";

    protected override string Source => "VM (Get-Vm)";

    protected override string? ReferenceProperty => "VmName";

    protected override string NameOf(object concept) => ((VmInfo)concept).Name;
}
