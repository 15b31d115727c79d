using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Images;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Deletes images and their root filesystems. An image VMs use is refused unless -Force.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VmImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = NameSet)]
public sealed class RemoveVmImageCommand : ImageCmdlet
{
    private const string NameSet = "Name";
    private const string InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Image")]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageInfo[] InputObject { get; set; } = [];

    /// <summary>Remove the image even though VMs use it: they then fail to start with ImageRootfsMissing.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var names = ParameterSetName == InputObjectSet ? InputObject.Select(image => image.Name) : ExpandNames(Name);
        foreach (var name in names)
        {
            if (!ShouldProcess(name, Force ? "Remove image (even if VMs use it)" : "Remove image"))
            {
                continue;
            }

            try
            {
                Await(cancellationToken => Manager.RemoveAsync(name, Force, cancellationToken));
            }
            catch (VmPsException exception)
            {
                WriteError(exception);
            }
        }
    }
}
