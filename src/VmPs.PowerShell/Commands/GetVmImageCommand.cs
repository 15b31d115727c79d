using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Gets the images New-Vm can boot, all of them or those named (wildcards allowed).
/// </summary>
[Cmdlet(VerbsCommon.Get, "VmImage")]
[OutputType(typeof(ImageInfo))]
public sealed class GetVmImageCommand : ImageCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [Alias("Image")]
    [ImageName(FollowVms = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var pattern in Name ?? ["*"])
        {
            if (WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                foreach (var image in MatchingImages(pattern))
                {
                    WriteImage(image);
                }

                continue;
            }

            try
            {
                WriteImage(Await(cancellationToken => Manager.GetAsync(pattern, cancellationToken)));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
