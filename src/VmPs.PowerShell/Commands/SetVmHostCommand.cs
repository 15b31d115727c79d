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
/// Or sets the ACME CA that routes with -Tls Acme get their certificates from.
/// </summary>
[Cmdlet(VerbsCommon.Set, "VmHost", SupportsShouldProcess = true, DefaultParameterSetName = StorageSet)]
[OutputType(typeof(HostReport))]
public sealed class SetVmHostCommand : AsyncCmdlet
{
    private const string StorageSet = "Storage";
    private const string IngressSet = "Ingress";
    private const string AcmeSet = "Acme";

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

    /// <summary>The https:// directory URL of the ACME CA of -Tls Acme routes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AcmeSet)]
    [ValidateNotNullOrEmpty]
    public string AcmeDirectory { get; set; } = "";

    /// <summary>The e-mail address of the ACME account (the CA's notices go there).</summary>
    [Parameter(ParameterSetName = AcmeSet)]
    [ValidateNotNullOrEmpty]
    public string? AcmeEmail { get; set; }

    /// <summary>A PEM root certificate to trust for the ACME server's own HTTPS (a private CA).</summary>
    [Parameter(ParameterSetName = AcmeSet)]
    [ValidateNotNullOrEmpty]
    public string? AcmeRootCertificate { get; set; }

    /// <summary>The challenges the ingress answers: Http01 (port 80), TlsAlpn01 (port 443), or both (the default).</summary>
    [Parameter(ParameterSetName = AcmeSet)]
    public AcmeChallenges AcmeChallenge { get; set; } = AcmeChallenges.All;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        if (ParameterSetName == IngressSet)
        {
            SetIngressDomain();
            return;
        }

        if (ParameterSetName == AcmeSet)
        {
            SetAcme();
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
            SetIngress(
                domain is null ? "Remove the ingress domain and its default routes" : $"Set the ingress domain to {domain}",
                "Setting the ingress domain",
                domain ?? "(none)",
                cancellationToken => Services.Ingress.SetDomainAsync(domain, cancellationToken));
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }
    }

    private void SetAcme()
    {
        try
        {
            var root = AcmeRootCertificate is null ? null : GetUnresolvedProviderPathFromPSPath(AcmeRootCertificate);
            var acme = IngressAcme.Create(AcmeDirectory, AcmeEmail, root, AcmeChallenge);
            SetIngress($"Set the ingress's ACME CA to {acme.Directory} ({acme.Challenges})", "Setting the ACME CA", acme.Directory.AbsoluteUri, cancellationToken => Services.Ingress.SetAcmeAsync(acme, cancellationToken));
        }
        catch (VmPsException exception)
        {
            ThrowTerminatingError(exception);
        }
    }

    private void SetIngress(string action, string status, string target, Func<CancellationToken, Task> apply)
    {
        if (!ShouldProcess(Services.Paths.Root, action))
        {
            return;
        }

        AwaitWithStatus(status, target, async cancellationToken =>
        {
            await apply(cancellationToken).ConfigureAwait(false);
            return true;
        });
        if (PassThru)
        {
            WriteTypedObject(Await(cancellationToken => Services.Host.GetReportAsync(refresh: true, cancellationToken)), PSTypeNames.VmHost);
        }
    }
}
