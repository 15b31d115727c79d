using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes -Image with the images VmPs knows.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    /// <summary>The image every host has: built locally from the host's busybox.</summary>
    public const string DefaultImage = "busybox";

    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(wordToComplete, [(DefaultImage, "busybox: built from the host's busybox-static")]);
}
