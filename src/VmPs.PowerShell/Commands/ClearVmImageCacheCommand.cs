using System.Management.Automation;
using VmPs.Core.Images;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Frees the disk the image store can do without: cached blobs no image was built from (all of them with -All),
/// interrupted downloads, and what a killed New-VmImage left (staging trees, image directories without a record).
/// </summary>
[Cmdlet(VerbsCommon.Clear, "VmImageCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ImageCacheItem))]
public sealed class ClearVmImageCacheCommand : ImageCmdlet
{
    /// <summary>Also remove the blobs images were built from: images keep booting, a later pull downloads them again.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    /// <summary>Output what was removed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        foreach (var item in Await(cancellationToken => Manager.GetCacheItemsAsync(All, cancellationToken)))
        {
            if (!ShouldProcess(item.Path, $"Remove {Describe(item.Kind)} ({item.SizeBytes} bytes)"))
            {
                continue;
            }

            if (!Manager.RemoveCacheItem(item))
            {
                WriteWarning($"'{item.Path}' was left in place: an image add that is running now uses it.");
            }
            else if (PassThru)
            {
                WriteTypedObject(item, PSTypeNames.VmImageCacheItem);
            }
        }
    }

    private static string Describe(ImageCacheItemKind kind) => kind switch
    {
        ImageCacheItemKind.Blob => "cached blob",
        ImageCacheItemKind.PartialDownload => "interrupted download",
        ImageCacheItemKind.StagingTree => "staging tree of a killed image add",
        ImageCacheItemKind.NameLock => "image name lock no add holds",
        _ => "image directory without a record",
    };
}
