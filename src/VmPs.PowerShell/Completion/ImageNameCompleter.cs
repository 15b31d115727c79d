using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes image names: the images in the store, and busybox, which every host can build.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    /// <summary>The image every host has: built locally from the host's busybox.</summary>
    public const string DefaultImage = "busybox";

    private const string DefaultImageToolTip = "busybox: built from the host's busybox-static";

    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(wordToComplete, StoredImages()
            .Append((Name: DefaultImage, ToolTip: DefaultImageToolTip))
            .DistinctBy(candidate => candidate.Name, StringComparer.OrdinalIgnoreCase));

    private static IEnumerable<(string Name, string ToolTip)> StoredImages() =>
        CompletionCandidates.Read(
            (services, cancellationToken) => services.Images.GetAllAsync(cancellationToken),
            image => (image.Name, $"{image.Name}: {image.Reference}, {image.Format}, {image.InitMode}"));
}
