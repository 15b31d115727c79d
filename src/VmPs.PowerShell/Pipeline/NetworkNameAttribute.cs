using VmPs.Core.Network;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Pipeline;

/// <summary>
/// Network names from the pipeline: names, network objects, network rows; with <see cref="FollowVms"/>, also the
/// network a piped VM, adapter or port mapping is on (Get-Vm web | Get-VmNetwork).
/// </summary>
public sealed class NetworkNameAttribute : PipelineNameAttribute
{
    /// <summary>Take a piped object's Network: for reading, never for removing.</summary>
    public bool FollowVms { get; set; }

    protected override Type ConceptType => typeof(NetworkInfo);

    protected override IReadOnlyList<string> ConceptTypeNames => [PSTypeNames.VmNetwork];

    protected override string Noun => "a network";

    protected override string Source => "network (Get-VmNetwork)";

    protected override string? ReferenceProperty => FollowVms ? "Network" : null;

    protected override string NameOf(object concept) => ((NetworkInfo)concept).Name;
}
