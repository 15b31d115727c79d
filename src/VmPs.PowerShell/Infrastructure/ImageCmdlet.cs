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

    /// <summary>Runs <paramref name="process"/> for each image named (wildcards expand; a literal unknown name is ImageNotFound, before any action).</summary>
    protected void ForEachImage(IEnumerable<string> patterns, Action<string> process) =>
        ForEachNamed(
            patterns,
            pattern => MatchingImages(pattern).Select(image => image.Name),
            name => Await(cancellationToken => Manager.GetAsync(name, cancellationToken)).Name,
            process);
}
