using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VmPs.PowerShell.Completion;

/// <summary>Completes volume names from the state database, with their size, format and VMs as the tooltip.</summary>
public sealed class VolumeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionCandidates.Complete(
            wordToComplete,
            CompletionCandidates.Read(
                (services, cancellationToken) => services.Volumes.GetAllAsync(cancellationToken),
                volume => (volume.Name, string.Create(
                    CultureInfo.InvariantCulture,
                    $"{volume.Name}: {volume.SizeBytes / (double)(1L << 30):0.##} GiB {volume.Format}{(volume.AttachedTo.Count > 0 ? ", on " + string.Join(", ", volume.AttachedTo) : "")}"))));
}
