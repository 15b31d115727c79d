using VmPs.Core.Images;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Pipeline;

/// <summary>
/// Image names from the pipeline: names, image objects, image rows; with <see cref="FollowVms"/>, also the image a
/// piped VM was made from (Get-Vm web | Get-VmImage).
/// </summary>
public sealed class ImageNameAttribute : PipelineNameAttribute
{
    /// <summary>Take a piped VM's Image: for reading, never for removing.</summary>
    public bool FollowVms { get; set; }

    protected override Type ConceptType => typeof(ImageInfo);

    protected override IReadOnlyList<string> ConceptTypeNames => [PSTypeNames.VmImage];

    protected override string Noun => "an image";

    protected override string Source => "image (Get-VmImage)";

    protected override string? ReferenceProperty => FollowVms ? "Image" : null;

    protected override string NameOf(object concept) => ((ImageInfo)concept).Name;
}
