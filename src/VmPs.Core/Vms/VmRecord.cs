using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Storage;

namespace VmPs.Core.Vms;

/// <summary>The settings of a VM about to be stored; the store adds the allocations (CID, MAC).</summary>
internal sealed record NewVm(
    Guid Id,
    string Name,
    string ImageId,
    int Cpus,
    int MemoryMiB,
    HypervisorKind Hypervisor,
    string KernelPath,
    int DiskSizeGiB,
    DateTimeOffset CreatedAt,
    ImageInitMode? InitMode = null,
    string? Owner = null,
    QemuMachine? MachineType = null,
    DiskImageFormat DiskFormat = DiskImageFormat.Raw,
    string? DiskFile = null,
    IReadOnlyList<Shares.ShareOptions>? Shares = null,
    MetadataHttpTokens MetadataHttpTokens = MetadataHttpTokens.Optional,
    string? IsoPath = null);

/// <summary>One row of the vms table.</summary>
internal sealed record VmRecord
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required string ImageId { get; init; }

    public required string ImageName { get; init; }

    /// <summary>Its image's kind: a Disk image's VM boots its own disk (<see cref="DiskImageBoot.SystemDiskFile"/>) through firmware.</summary>
    public ImageKind ImageKind { get; init; } = ImageKind.Oci;

    public required int Cpus { get; init; }

    public required int MemoryMiB { get; init; }

    public required HypervisorKind Hypervisor { get; init; }

    /// <summary>New-Vm -MachineType: the QEMU machine the VM runs on; null: the hypervisor's default.</summary>
    public QemuMachine? MachineType { get; init; }

    public required string KernelPath { get; init; }

    public required int DiskSizeGiB { get; init; }

    public long DiskSizeBytes => (long)DiskSizeGiB << 30;

    /// <summary>The container of the VM's own disk (New-Vm -DiskFormat; a checkpoint over a file system without reflink makes it qcow2).</summary>
    public DiskImageFormat DiskFormat { get; init; }

    /// <summary>The file in the VM's directory its disk is written to; null: the one New-Vm made (see VmDiskChain).</summary>
    public string? DiskFile { get; init; }

    public string DiskFileName => DiskFile ?? VmFiles.OverlayDiskName(DiskFormat);

    public required VmState State { get; init; }

    /// <summary>The hypervisor process while the VM is Starting, Running or Stopping.</summary>
    public HypervisorInstance? Instance { get; init; }

    /// <summary>
    /// The session (process) that moved the VM to Starting or Stopping; if it dies before it records
    /// the outcome, a later read knows the transition was abandoned and settles it.
    /// </summary>
    public ProcessIdentity? Session { get; init; }

    public required uint VsockCid { get; init; }

    public required string MacAddress { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>New-Vm -InitMode; null follows the image's init mode.</summary>
    public ImageInitMode? InitMode { get; init; }

    public string? StatusDetail { get; init; }

    /// <summary>The owning user (users.id); null: the administrator, who has no quota.</summary>
    public string? OwnerId { get; init; }

    /// <summary>The owning user's name.</summary>
    public string? Owner { get; init; }

    /// <summary>When the host last saw the VM used (see <see cref="VmActivity"/>); null: not since it was made.</summary>
    public DateTimeOffset? LastActivityAt { get; init; }

    /// <summary>The TAP's received plus sent packets when last observed; null: never observed.</summary>
    public long? NetworkPackets { get; init; }

    /// <summary>Whether the VM's metadata service requires IMDSv2 tokens (New-Vm and Set-Vm -MetadataOptions).</summary>
    public MetadataHttpTokens MetadataHttpTokens { get; init; }

    /// <summary>New-Vm -IsoPath: the ISO image the VM boots from its CD-ROM drive before its disk; null: none.</summary>
    public string? IsoPath { get; init; }
}
