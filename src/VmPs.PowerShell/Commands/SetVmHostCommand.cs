using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Storage;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Sets where new volumes are made, as Hyper-V's Set-VMHost sets its default disk path: sparse files (File, the
/// default) or thin volumes of an LVM thin pool (LvmThin). Every check runs before ShouldProcess, so -WhatIf tells
/// whether the host could use the pool.
/// </summary>
[Cmdlet(VerbsCommon.Set, "VmHost", SupportsShouldProcess = true)]
[OutputType(typeof(HostReport))]
public sealed class SetVmHostCommand : AsyncCmdlet
{
    [Parameter(Mandatory = true)]
    public StorageBackend StorageBackend { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? VolumeGroup { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ThinPool { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var settings = new StorageSettings(StorageBackend, VolumeGroup, ThinPool);
        try
        {
            Await(cancellationToken => Services.Host.ValidateStorageAsync(settings, cancellationToken));
            if (!ShouldProcess(Services.Paths.Root, $"Set the storage backend to {settings}"))
            {
                return;
            }

            var report = AwaitWithStatus("Setting the storage backend", settings.ToString(), cancellationToken => Services.Host.SetStorageAsync(settings, cancellationToken));
            if (PassThru)
            {
                WriteTypedObject(report, PSTypeNames.VmHost);
            }
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }
    }
}
