using Newtonsoft.Json.Converters;
using VmPs.Core.Hypervisors;
using VmPs.Core.Storage;

namespace VmPs.Core.Volumes;

/// <summary>What a volume holds, as New-VmVolume -Format made it.</summary>
[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum VolumeFormat
{
    /// <summary>An ext4 filesystem in a raw, sparse file; the guest mounts it at the attachment's path.</summary>
    Ext4,

    /// <summary>An unformatted raw, sparse disk; the guest links its block device at the attachment's path.</summary>
    Raw,

    /// <summary>An ext4 filesystem in a qcow2 image; the guest mounts it at the attachment's path.</summary>
    Qcow2,
}

/// <summary>A volume as users see it (Get-VmVolume's VmPs.VmVolume objects).</summary>
public sealed record VolumeInfo
{
    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required VolumeFormat Format { get; init; }

    /// <summary>The size the guest sees.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>The host blocks the volume's file really uses (not counting a shared base); a thin volume's pool blocks, from lvs (0 while inactive).</summary>
    public required long AllocatedBytes { get; init; }

    /// <summary>The file's format: Raw, or Qcow2 (a Qcow2 volume, or one that shares a base after Copy-VmVolume).</summary>
    public required DiskImageFormat DiskFormat { get; init; }

    public required string Path { get; init; }

    /// <summary>The frozen base a qcow2 file reads unwritten blocks from; null: none.</summary>
    public string? BackingFile { get; init; }

    /// <summary>The names of the VMs it is attached to.</summary>
    public required IReadOnlyList<string> AttachedTo { get; init => field = DisplayList.Of(value); }

    public required IReadOnlyList<VolumeAttachmentInfo> Attachments { get; init => field = DisplayList.Of(value); }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The VmPs user who owns it; null: the host's administrator.</summary>
    public string? Owner { get; init; }
}

/// <summary>One VM's use of a volume: where its guest mounts it, and whether read-only.</summary>
public sealed record VolumeAttachmentInfo(string VmName, string Volume, string Path, bool ReadOnly)
{
    /// <summary>VM:path, with :ro when read-only: the -Volume syntax of New-Vm, as Get-VmVolume's view shows it.</summary>
    public override string ToString() => $"{VmName}:{Path}{(ReadOnly ? ":ro" : "")}";
}

public sealed record VolumeCreateOptions
{
    public required string Name { get; init; }

    public required long SizeBytes { get; init; }

    public VolumeFormat Format { get; init; } = VolumeFormat.Ext4;

    /// <summary>A directory, or a .tar / .tar.gz / .tgz archive, whose content the ext4 volume starts with; null: empty.</summary>
    public string? FromPath { get; init; }

    /// <summary>The VmPs user who will own it, within whose MaxDiskGiB quota it must fit; null: the administrator.</summary>
    public string? Owner { get; init; }
}

/// <summary>Copy-VmVolume's outcome: the new volume and how it was copied.</summary>
public sealed record VolumeCopyResult(VolumeInfo Volume, CopyMethod Method);

/// <summary>New-Vm -Volume and Mount-VmVolume: which volume, where the guest sees it, and whether read-only.</summary>
public sealed record VolumeAttachOptions(string Volume, string Path, bool ReadOnly = false);
