using System.Collections;
using System.Management.Automation;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Storage;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.PowerShell.Completion;
using VmPs.PowerShell.Infrastructure;
using VmPs.PowerShell.Pipeline;

namespace VmPs.PowerShell.Commands;

/// <summary>
/// Creates a VM from an image. The VM is created stopped; start it with Start-Vm.
/// It gets a network adapter only when asked (-Network, -IPAddress, -Publish or -MaxBandwidthMbps);
/// without -Network that adapter is on the `default` network, created on first use.
/// Pipeline input is either an image (Get-VmImage alpine | New-Vm -Name web) or rows whose Name, Image, Cpus,
/// MemoryMB, Network and IPAddress bind by name (Import-Csv vms.csv | New-Vm); an image's Name never names the VM.
/// -FromCheckpoint web/cp1 (or a checkpoint piped in) forks a checkpoint instead: the new VM has the source's image,
/// hardware and network, the checkpoint's disk and, when it has memory, is Saved in it; Start-Vm resumes it with an
/// identity of its own. -IsoPath boots an installer ISO from a CD-ROM drive ahead of a blank disk. -AsJob creates the VMs (the disk made or copied) in a job.
/// </summary>
[Cmdlet(VerbsCommon.New, "Vm", SupportsShouldProcess = true, DefaultParameterSetName = RowSet)]
[OutputType(typeof(VmInfo), typeof(Job))]
public sealed class NewVmCommand : VmCmdlet
{
    private const string RowSet = "Name";
    private const string PipedImageSet = "Image";
    private const string CheckpointPathSet = "FromCheckpoint";
    private const string PipedCheckpointSet = "Checkpoint";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = RowSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PipedImageSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CheckpointPathSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PipedCheckpointSet)]
    [Alias("VmName")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter(Position = 1, ParameterSetName = RowSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = PipedImageSet, ValueFromPipeline = true)]
    [ImageName]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Image { get; set; } = ImageNameCompleter.DefaultImage;

    /// <summary>"VM/checkpoint": the checkpoint to fork.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CheckpointPathSet)]
    [ValidatePattern(@"^[^/]+/[^/]+$")]
    public string FromCheckpoint { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = PipedCheckpointSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public VmCheckpointInfo? Checkpoint { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [Alias("CpuCount")]
    public int? Cpus { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [Alias("MemoryMiB")]
    public int? MemoryMB { get; set; }

    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    public HypervisorChoice Hypervisor { get; set; } = HypervisorChoice.Auto;

    /// <summary>The container of the VM's disk: Raw (default) or Qcow2 (qemu-img).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    public DiskImageFormat? DiskFormat { get; set; }

    /// <summary>The QEMU machine: Q35 hot-plugs disks (Mount-VmVolume on the running VM); the default, microvm, boots fastest.</summary>
    [Parameter]
    public QemuMachine? MachineType { get; set; }

    /// <summary>Kernel image to boot instead of the host's default kernel.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string? Kernel { get; set; }

    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [Alias("DiskSizeGiB")]
    public int? DiskSizeGB { get; set; }

    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    public ImageInitMode? InitMode { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string? IPAddress { get; set; }

    /// <summary>"8080:80", "127.0.0.1:8080:80", "5353:53/udp".</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Publish { get; set; }

    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    public int? MaxBandwidthMbps { get; set; }

    /// <summary>
    /// The VmPs user who owns the VM, within whose quota it must fit (New-VmUser, Set-VmQuota); without it, the
    /// administrator. Null or empty is allowed: a row's empty Owner cell, or the null Owner of an administrator's
    /// image offered to the row set while the pipeline binds, means the administrator.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [AllowNull]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(UserNameCompleter))]
    public string? Owner { get; set; }

    /// <summary>"data:/srv/data" or "data:/srv/data:ro": a volume and where the guest mounts it (repeatable).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Volume { get; set; }

    /// <summary>"/host/dir:/guest/dir" or "/host/dir:/guest/dir:ro": a host directory the guest sees through virtio-fs (repeatable).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Share { get; set; }

    /// <summary>User data (the metadata service's /latest/user-data; a disk image VM's cloud-init runs it): a file's path, or the data itself.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string? UserData { get; set; }

    /// <summary>OpenSSH public key lines: the metadata service's public-keys, and a disk image VM's default user's (repeatable).</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    [ValidateNotNullOrEmpty]
    public string[]? SshPublicKey { get; set; }

    /// <summary>EC2's instance metadata options: @{ HttpTokens = 'required' } serves IMDSv2 only.</summary>
    [Parameter(ParameterSetName = RowSet)]
    [Parameter(ParameterSetName = PipedImageSet)]
    public Hashtable? MetadataOptions { get; set; }

    /// <summary>
    /// An ISO install: the ISO 9660 image (an installer) the VM boots from a read-only CD-ROM drive ahead of a blank
    /// disk of -DiskSizeGB (the built-in blank-uefi or blank-bios image); not with -Image.
    /// </summary>
    [Parameter(ParameterSetName = RowSet)]
    [ValidateNotNullOrEmpty]
    public string? IsoPath { get; set; }

    /// <summary>An ISO install's firmware: Uefi (OVMF, the default) or Bios (SeaBIOS); a disk image carries its own.</summary>
    [Parameter(ParameterSetName = RowSet)]
    public ImageFirmware? Firmware { get; set; }

    /// <summary>Create in a background job (one child job per VM) and return the job at once.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName is CheckpointPathSet or PipedCheckpointSet)
        {
            Fork();
            return;
        }

        VmCreateOptions options;
        try
        {
            options = CreateOptions();
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
            return;
        }

        var description = $"{(options.IsoPath is { } iso ? $"ISO {iso}" : options.Image)}, {options.Cpus} vCPU, {options.MemoryMiB} MiB, {Hypervisor}"
            + (options.MachineType is { } machine ? $" ({machine})" : "")
            + (options.Owner is { } owner ? $", owned by {owner}" : "")
            + (options.Network is { } network ? $", network {network.Network}" : "")
            + string.Concat(options.Volumes.Select(volume => $", volume {volume.Volume} at {volume.Path}{(volume.ReadOnly ? " (read-only)" : "")}"))
            + string.Concat(options.Shares.Select(share => $", share {share.HostPath} at {share.GuestPath}{(share.ReadOnly ? " (read-only)" : "")}"));
        try
        {
            Await(cancellationToken => Manager.ValidateCreateAsync(options, cancellationToken));
            if (!ShouldProcess($"{Name} ({description})", "Create VM"))
            {
                return;
            }

            RunOperation(AsJob, Name, $"Creating VM '{Name}'", description, async cancellationToken =>
                PSTypeNames.Tag(await Manager.CreateAsync(options, cancellationToken).ConfigureAwait(false), PSTypeNames.Vm));
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private void Fork()
    {
        var (vm, checkpoint) = Checkpoint is { } piped ? (piped.VmName, piped.Name) : (FromCheckpoint.Split('/')[0], FromCheckpoint.Split('/')[1]);
        try
        {
            Await(cancellationToken => Manager.ValidateForkAsync(vm, checkpoint, Name, cancellationToken));
            if (!ShouldProcess($"{Name} (fork of checkpoint '{checkpoint}' of VM '{vm}')", "Create VM"))
            {
                return;
            }

            // The job runs after this record: the next piped record rebinds Name.
            var name = Name;
            RunOperation(AsJob, name, $"Creating VM '{name}'", $"Forking checkpoint '{checkpoint}' of VM '{vm}'", async cancellationToken =>
                PSTypeNames.Tag(await Manager.ForkAsync(vm, checkpoint, name, cancellationToken).ConfigureAwait(false), PSTypeNames.Vm));
        }
        catch (VmPsException exception)
        {
            WriteError(exception);
        }
    }

    private VmCreateOptions CreateOptions()
    {
        // An ISO install has no image: one given with it reaches the engine, which refuses the pair (IsoPathWithImage).
        var image = IsoPath is null || MyInvocation.BoundParameters.ContainsKey(nameof(Image)) ? Image : "";
        var defaults = new VmCreateOptions { Name = Name, Image = image };
        return defaults with
        {
            Cpus = Cpus ?? defaults.Cpus,
            MemoryMiB = MemoryMB ?? defaults.MemoryMiB,
            DiskSizeGiB = DiskSizeGB ?? defaults.DiskSizeGiB,
            DiskFormat = DiskFormat ?? defaults.DiskFormat,
            Hypervisor = Hypervisor.ToKind(),
            InitMode = InitMode,
            MachineType = MachineType,
            Owner = ResolveOwner(Owner),

            // Relative paths are relative to the current PowerShell location, not the process directory.
            KernelPath = Kernel is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Kernel),
            Network = NetworkOptions(),
            Volumes = (Volume ?? []).Select(VolumeValidation.ParseAttachment).ToArray(),
            Shares = (Share ?? []).Select(ParseShare).ToArray(),
            UserData = UserDataText(),
            SshPublicKeys = SshPublicKey ?? [],
            MetadataHttpTokens = VmMetadataOptions.ParseHttpTokens(MetadataOptions, Name) ?? defaults.MetadataHttpTokens,
            IsoPath = IsoPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(IsoPath),
            Firmware = Firmware,
        };
    }

    /// <summary>A relative host path is relative to the current PowerShell location, not the process directory.</summary>
    private ShareOptions ParseShare(string text)
    {
        var share = ShareValidation.Parse(text);
        return share with { HostPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(share.HostPath) };
    }

    /// <summary>-UserData names a file when it is one line that resolves to an existing file; anything else is the data.</summary>
    private string? UserDataText()
    {
        if (UserData is null || UserData.Contains('\n', StringComparison.Ordinal))
        {
            return UserData;
        }

        var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(UserData);
        if (!File.Exists(path))
        {
            return UserData;
        }

        var length = new FileInfo(path).Length;
        return length > CloudInitUserData.MaxBytes ? throw CloudInitUserData.TooLarge(Name, length) : File.ReadAllText(path);
    }

    private VmNetworkOptions? NetworkOptions()
    {
        if (Network is null && IPAddress is null && Publish is null && MaxBandwidthMbps is null)
        {
            return null;
        }

        var defaults = new VmNetworkOptions();
        return defaults with
        {
            Network = Network ?? defaults.Network,
            IPAddress = IPAddress,
            PublishedPorts = (Publish ?? []).Select(PublishedPortParser.Parse).ToArray(),
            MaxBandwidthMbps = MaxBandwidthMbps,
        };
    }
}
