using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Vms;
using VmPs.Core.Images;
using VmPs.Core.Images.Disk;
using VmPs.Core.Images.Oci;
using VmPs.Core.Images.Registry;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Pulls an OCI/Docker image from a registry, or imports an OCI image layout directory or a docker save archive,
/// and converts it into a bootable root filesystem New-Vm can use; or imports a disk image (a qcow2 or raw cloud
/// image, which boots through firmware); or turns a stopped disk image VM's disk into a new disk image (-FromVm).
/// </summary>
[Cmdlet(VerbsCommon.New, "VmImage", SupportsShouldProcess = true, DefaultParameterSetName = RegistrySet)]
[OutputType(typeof(ImageInfo), typeof(Job))]
public sealed class NewVmImageCommand : ImageCmdlet
{
    private const string RegistrySet = "Registry";
    private const string PathSet = "Path";
    private const string FromVmSet = "FromVm";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RegistrySet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Reference { get; set; } = "";

    /// <summary>os/architecture[/variant] to pick from a multi-platform image (default linux/amd64).</summary>
    [Parameter(ParameterSetName = RegistrySet)]
    [ValidateNotNullOrEmpty]
    public string? Platform { get; set; }

    [Parameter(ParameterSetName = RegistrySet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Allow plain HTTP to a registry that is not on loopback.</summary>
    [Parameter(ParameterSetName = RegistrySet)]
    public SwitchParameter Insecure { get; set; }

    /// <summary>An OCI image layout directory, a docker save archive (.tar), or a disk image (.qcow2, .img, .raw).</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>Which image of the layout or archive to import, when it holds more than one.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string? Tag { get; set; }

    /// <summary>A stopped VM of a disk image whose disk, flattened, becomes the new image (with the VM's firmware).</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromVmSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VmNameCompleter))]
    public string FromVm { get; set; } = "";

    /// <summary>The firmware a disk image boots through (default Uefi); only for disk images.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public ImageFirmware? Firmware { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    public ImageFormat Format { get; set; } = ImageFormat.Erofs;

    [Parameter]
    public ImageInitMode? InitMode { get; set; }

    /// <summary>Replace an image of the same name (refused while VMs use it).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The VmPs user who owns it (New-VmUser); without it, the administrator.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? Owner { get; set; }

    /// <summary>Pull and build in a background job and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        var source = ParameterSetName == PathSet ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path) : Reference;
        try
        {
            if (ParameterSetName == FromVmSet)
            {
                AddFromVm();
                return;
            }

            if (ParameterSetName == PathSet && IsDiskImage(source))
            {
                AddDiskImage(source);
                return;
            }

            ThrowIfBound(nameof(Firmware), "applies only to disk images");

            // The reference, platform, path and name are checked before -WhatIf or -Confirm sees the call.
            var imageSource = ParameterSetName == PathSet ? LocalSource(source) : RegistrySource();
            if (Name is not null)
            {
                ImageNames.Validate(Name);
            }

            var owner = ResolveOwner(Owner);
            if (!ShouldProcess(source, $"Create {Format} image{(Name is null ? "" : $" '{Name}'")}{(owner is null ? "" : $" owned by {owner}")}"))
            {
                return;
            }

            var options = new ImageAddOptions { Name = Name, Format = Format, InitMode = InitMode, Force = Force, Owner = owner };
            RunOperation(AsJob, source, $"New-VmImage {source}", async (progress, cancellationToken) => PSTypeNames.Tag(
                await Manager.AddAsync(imageSource, options, new PullProgress(source, progress), cancellationToken).ConfigureAwait(false),
                PSTypeNames.VmImage));
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private bool IsDiskImage(string path) => File.Exists(path) && (Firmware is not null || DiskImagePaths.HasDiskImageExtension(path));

    private void AddDiskImage(string path)
    {
        ThrowIfBound(nameof(Tag), "does not apply to a disk image");
        ThrowIfBound(nameof(Format), "does not apply to a disk image: it keeps its own format (qcow2 or raw)");
        ThrowIfBound(nameof(InitMode), "does not apply to a disk image: it boots its own init");
        var name = Name ?? DiskImagePaths.DefaultName(path);
        ImageNames.Validate(name);
        var firmware = Firmware ?? ImageFirmware.Uefi;
        if (!ShouldProcess(path, $"Import disk image '{name}' ({firmware})"))
        {
            return;
        }

        var options = new DiskImageAddOptions { Path = path, Name = name, Firmware = firmware, Force = Force };
        RunOperation(AsJob, path, $"New-VmImage {path}", async (progress, cancellationToken) => PSTypeNames.Tag(
            await Manager.AddDiskAsync(options, new PullProgress(path, progress), cancellationToken).ConfigureAwait(false),
            PSTypeNames.VmImage));
    }

    private void AddFromVm()
    {
        ThrowIfBound(nameof(Format), "does not apply to -FromVm: the VM's disk becomes a qcow2 image");
        ThrowIfBound(nameof(InitMode), "does not apply to -FromVm: the disk boots its own init");
        ThrowIfBound(nameof(Owner), "does not apply to -FromVm");
        var name = Name ?? throw new VmPsException(
            VmPsErrorIds.ImageNameRequired, VmPsErrorKind.InvalidArgument, "New-VmImage -FromVm needs -Name, the new image's name.", FromVm)
        {
            RecommendedAction = $"New-VmImage -FromVm {FromVm} -Name <image name>",
        };
        ImageNames.Validate(name);
        if (!ShouldProcess(FromVm, $"Create disk image '{name}' from the VM's disk"))
        {
            return;
        }

        var vms = Services.Vms;
        RunOperation(AsJob, FromVm, $"New-VmImage -FromVm {FromVm}", async (progress, cancellationToken) => PSTypeNames.Tag(
            await vms.CreateImageFromVmAsync(FromVm, name, Force, new PullProgress(FromVm, progress), cancellationToken).ConfigureAwait(false),
            PSTypeNames.VmImage));
    }

    private void ThrowIfBound(string parameter, string why)
    {
        if (MyInvocation.BoundParameters.ContainsKey(parameter))
        {
            throw new VmPsException(VmPsErrorIds.ImageParameterNotApplicable, VmPsErrorKind.InvalidArgument, $"-{parameter} {why}.", parameter);
        }
    }

    private RegistryImageSource RegistrySource()
    {
        var credentials = Credential is null ? null : new RegistryCredentials(Credential.UserName, Credential.GetNetworkCredential().Password);
        var platform = Platform is null ? OciPlatform.Default : OciPlatform.Parse(Platform);
        return new RegistryImageSource(ImageReference.Parse(Reference), credentials, platform, Insecure);
    }

    private IImageSource LocalSource(string path)
    {
        if (Directory.Exists(path))
        {
            return new OciLayoutImageSource(path, Tag, OciPlatform.Default);
        }

        if (File.Exists(path))
        {
            return new DockerArchiveImageSource(path, Tag);
        }

        throw new VmPsException(
            VmPsErrorIds.ImageSourceNotFound,
            VmPsErrorKind.ObjectNotFound,
            $"'{path}' is neither an OCI image layout directory nor a docker save archive: it does not exist.",
            path);
    }

    /// <summary>Turns pull progress into Write-Progress lines, skipping reports that would not change the line.</summary>
    private sealed class PullProgress(string source, IProgress<VmProgress> progress) : IProgress<ImagePullProgress>
    {
        private VmProgress? last;

        public void Report(ImagePullProgress value)
        {
            var percent = value.BytesTotal > 0 ? (int)(value.BytesDone * 100 / value.BytesTotal)
                : value.LayersTotal > 0 ? value.LayersDone * 100 / value.LayersTotal
                : -1;
            var bytes = value.BytesTotal > 0 ? $", {value.BytesDone / 1048576.0:N1} of {value.BytesTotal / 1048576.0:N1} MB" : "";
            var status = $"{value.Phase}{bytes}, {value.LayersDone} of {value.LayersTotal} layers";
            var update = new VmProgress(source, status, percent) { Step = value.Phase };
            if (update == last)
            {
                return;
            }

            last = update;
            progress.Report(update);
        }
    }
}
