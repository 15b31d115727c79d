using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Ingress;
using VmPs.Core.Storage;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Sets where new volumes are made, as Hyper-V's Set-VMHost sets its default disk path: sparse files (File, the
/// default) or thin volumes of an LVM thin pool (LvmThin). Every check runs before ShouldProcess, so -WhatIf tells
/// whether the host could use the pool. Or sets the ingress domain: every VM then has a private NAME.DOMAIN route.
/// </summary>
[Cmdlet(VerbsCommon.Set, "VmHost", SupportsShouldProcess = true, DefaultParameterSetName = StorageSet)]
[OutputType(typeof(HostReport))]
public sealed class SetVmHostCommand : AsyncCmdlet
{
    private const string StorageSet = "Storage";
    private const string IngressSet = "Ingress";

    [Parameter(Mandatory = true, ParameterSetName = StorageSet)]
    public StorageBackend StorageBackend { get; set; }

    [Parameter(ParameterSetName = StorageSet)]
    [ValidateNotNullOrEmpty]
    public string? VolumeGroup { get; set; }

    [Parameter(ParameterSetName = StorageSet)]
    [ValidateNotNullOrEmpty]
    public string? ThinPool { get; set; }

    /// <summary>The domain every VM gets a default route NAME.DOMAIN under; an empty string removes the default routes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = IngressSet)]
    [AllowEmptyString]
    public string IngressDomain { get; set; } = "";

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        if (ParameterSetName == IngressSet)
        {
            SetIngressDomain();
            return;
        }

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

    private void SetIngressDomain()
    {
        try
        {
            var domain = IngressDomain.Length == 0 ? null : IngressHostnames.Normalize(IngressDomain);
            if (!ShouldProcess(Services.Paths.Root, domain is null ? "Remove the ingress domain and its default routes" : $"Set the ingress domain to {domain}"))
            {
                return;
            }

            AwaitWithStatus("Setting the ingress domain", domain ?? "(none)", async cancellationToken =>
            {
                await Services.Ingress.SetDomainAsync(domain, cancellationToken).ConfigureAwait(false);
                return true;
            });
            if (PassThru)
            {
                WriteTypedObject(Await(cancellationToken => Services.Host.GetReportAsync(false, cancellationToken)), PSTypeNames.VmHost);
            }
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }
    }
}
