using System.Management.Automation;
using VmPs.Core.Images;

namespace VmPs.PowerShell.Infrastructure;

/// <summary>Base of the image cmdlets: the image manager and name patterns.</summary>
public abstract class ImageCmdlet : AsyncCmdlet
{
    private ImageManager? manager;

    protected ImageManager Manager => manager ??= ImageManager.CreateDefault();

    protected void WriteImage(ImageInfo image) => WriteTypedObject(image, PSTypeNames.VmImage);

    /// <summary>The images whose names match a wildcard pattern, case-insensitively, in name order.</summary>
    protected IEnumerable<ImageInfo> MatchingImages(string pattern)
    {
        var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
        return Await(Manager.GetAllAsync).Where(image => wildcard.IsMatch(image.Name)).OrderBy(image => image.Name, StringComparer.Ordinal);
    }

    /// <summary>Names as given, with wildcard patterns expanded; a literal name stays so Core reports an unknown image itself.</summary>
    protected IEnumerable<string> ExpandNames(IEnumerable<string> patterns) =>
        patterns.SelectMany(pattern => WildcardPattern.ContainsWildcardCharacters(pattern)
            ? MatchingImages(pattern).Select(image => image.Name)
            : [pattern]);
}
