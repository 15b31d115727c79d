using VmPs.Core.Images;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the image cmdlets: the image manager and name patterns.</summary>
public abstract class ImageCmdlet : AsyncCmdlet
{
    protected IImageManager Manager => Services.Images;

    protected void WriteImage(ImageInfo image) => WriteTypedObject(image, PSTypeNames.VmImage);

    /// <summary>The images whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<ImageInfo> MatchingImages(string pattern) =>
        NamePatterns.Matching(Await(Manager.GetAllAsync), image => image.Name, pattern);

    /// <summary>Names as given, with wildcard patterns expanded; a literal name stays so Core reports an unknown image itself.</summary>
    protected IEnumerable<string> ExpandNames(IEnumerable<string> patterns) =>
        NamePatterns.Expand(patterns, pattern => MatchingImages(pattern).Select(image => image.Name));
}
