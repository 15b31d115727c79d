using System.Management.Automation;
using VmPs.Core.Images;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes images and their root filesystems, then the cached blobs no remaining image was built from. Asks first
/// (ConfirmImpact High); -Force does not ask and removes an image VMs use, which is otherwise refused. -Prune removes
/// every image no VM uses.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmImageCommand : ImageCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";
    private const string PruneSet = "Prune";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true)]
    [Alias("Image")]
    [ImageName]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageInfo[] InputObject { get; set; } = [];

    /// <summary>Remove every image no VM uses.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PruneSet)]
    public SwitchParameter Prune { get; set; }

    /// <summary>Remove without asking, even an image VMs use: they then fail to start with ImageRootfsMissing.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var names = ParameterSetName switch
        {
            InputObjectSet => InputObject.Select(image => image.Name),
            PruneSet => Await(Manager.GetUnusedAsync).Select(image => image.Name),
            _ => Name,
        };
        ForEachImage(names, name =>
        {
            if (ShouldProcess(name, Force ? "Remove image (even if VMs use it)" : "Remove image", Force))
            {
                Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            }
        });
    }
}
