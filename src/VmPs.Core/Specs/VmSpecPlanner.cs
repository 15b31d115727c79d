using Newtonsoft.Json.Converters;
using VmPs.Core.Images.Disk;
using VmPs.Core.Network;
using VmPs.Core.Shares;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;

namespace VmPs.Core.Specs;

/// <summary>A VM as it is, in spec form (what Export-VmSpec writes), with the id its port mappings are keyed by.</summary>
public sealed record VmSpecCurrent(Guid VmId, VmCreateOptions Spec);

/// <summary>
/// What Import-VmSpec does for one spec: the steps that bring the VM to it, in order, and the differences no step
/// can make (a VM's image or an ISO install's firmware, disk format, hypervisor, machine type, init mode, network, shares, user data and SSH keys are fixed when it is created, and its disk only grows).
/// </summary>
public sealed record VmSpecPlan(string VmName, IReadOnlyList<VmSpecChange> Changes, IReadOnlyList<string> Unchangeable);

public static class VmSpecPlanner
{
    /// <summary>Compares the spec with the VM (null: no such VM, so it is created as the spec says).</summary>
    public static VmSpecPlan Plan(VmCreateOptions desired, VmSpecCurrent? current)
    {
        ArgumentNullException.ThrowIfNull(desired);
        if (current is null)
        {
            return new VmSpecPlan(desired.Name, [new CreateVmChange(desired)], []);
        }

        var name = current.Spec.Name;
        var changes = new List<VmSpecChange>();
        var unchangeable = new List<string>();
        var actual = current.Spec;

        void Fixed(string what, object? value, object? wanted)
        {
            if (!Equals(value, wanted))
            {
                unchangeable.Add($"{what} is {value ?? "none"}, the spec says {wanted ?? "none"}{CannotChange}");
            }
        }

        Fixed("image", BootedImage(actual), BootedImage(desired));
        if (desired.DiskSizeGiB > actual.DiskSizeGiB)
        {
            changes.Add(new ResizeDiskChange(name, actual.DiskSizeGiB, desired.DiskSizeGiB));
        }
        else
        {
            Fixed("diskSizeGiB", actual.DiskSizeGiB, desired.DiskSizeGiB);
        }
        if (desired.Hypervisor is not null)
        {
            Fixed("hypervisor", actual.Hypervisor, desired.Hypervisor);
        }

        Fixed("diskFormat", actual.DiskFormat, desired.DiskFormat);
        if (actual.IsoPath != desired.IsoPath)
        {
            changes.Add(new SetIsoPathChange(name, actual.IsoPath, desired.IsoPath));
        }

        Fixed("machineType", actual.MachineType, desired.MachineType);
        Fixed("initMode", actual.InitMode, desired.InitMode);
        if (actual.Cpus != desired.Cpus || actual.MemoryMiB != desired.MemoryMiB)
        {
            changes.Add(new SetResourcesChange(
                name,
                actual.Cpus,
                actual.MemoryMiB,
                new VmSetOptions
                {
                    Cpus = actual.Cpus == desired.Cpus ? null : desired.Cpus,
                    MemoryMiB = actual.MemoryMiB == desired.MemoryMiB ? null : desired.MemoryMiB,
                }));
        }

        if (actual.MetadataHttpTokens != desired.MetadataHttpTokens)
        {
            changes.Add(new SetMetadataOptionsChange(name, actual.MetadataHttpTokens, desired.MetadataHttpTokens));
        }

        // Set-Vm cannot change them (a disk image VM's cloud-init has already run them); 16 KiB of user data would not fit a message.
        if (!string.Equals(NoneIfEmpty(actual.UserData), NoneIfEmpty(desired.UserData), StringComparison.Ordinal))
        {
            unchangeable.Add($"userData differs from the spec's{CannotChange}");
        }

        if (!actual.SshPublicKeys.SequenceEqual(desired.SshPublicKeys, StringComparer.Ordinal))
        {
            unchangeable.Add($"sshPublicKeys differ from the spec's ({actual.SshPublicKeys.Count} here, {desired.SshPublicKeys.Count} in the spec){CannotChange}");
        }

        if (!actual.Shares.SequenceEqual(desired.Shares))
        {
            unchangeable.Add($"shares are {Describe(actual.Shares)}, the spec says {Describe(desired.Shares)}{CannotChange}");
        }

        PlanNetwork(current, desired.Network, changes, Fixed);
        PlanVolumes(name, actual.Volumes, desired.Volumes, changes);
        return new VmSpecPlan(name, changes, unchangeable);
    }

    private const string CannotChange = ": VmPs cannot change it on an existing VM (remove and re-create the VM).";

    /// <summary>
    /// The image the VM's disk starts from: an ISO install's (isoPath and firmware, no image) is its firmware's blank
    /// disk, which it keeps once Set-Vm -IsoPath has ejected the ISO (then its spec names blank-uefi or blank-bios).
    /// </summary>
    private static string BootedImage(VmCreateOptions spec) =>
        (spec.Image.Length == 0 && spec.IsoPath is not null ? BlankDiskImages.NameOf(spec.Firmware ?? Images.ImageFirmware.Uefi) : spec.Image).ToLowerInvariant();

    private static string? NoneIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static string Describe(IReadOnlyList<ShareOptions> shares) =>
        shares.Count == 0 ? "none" : string.Join(", ", shares.Select(ShareValidation.Format));


    private static void PlanNetwork(VmSpecCurrent current, VmNetworkOptions? desired, List<VmSpecChange> changes, Action<string, object?, object?> fixedSetting)
    {
        var actual = current.Spec.Network;
        fixedSetting("network", actual?.Network.ToLowerInvariant(), desired?.Network.ToLowerInvariant());
        if (actual is null || desired is null)
        {
            return;
        }

        if (desired.IPAddress is not null)
        {
            fixedSetting("network.ipAddress", actual.IPAddress, desired.IPAddress);
        }

        fixedSetting("network.maxBandwidthMbps", actual.MaxBandwidthMbps, desired.MaxBandwidthMbps);

        // Removals first, so that a host port the spec moves to another VM port is free when it is published again.
        var name = current.Spec.Name;
        changes.AddRange(actual.PublishedPorts.Except(desired.PublishedPorts).Select(port => new RemovePortChange(name, current.VmId, port)));
        changes.AddRange(desired.PublishedPorts.Except(actual.PublishedPorts).Select(port => new AddPortChange(name, current.VmId, port)));
    }

    private static void PlanVolumes(string name, IReadOnlyList<VolumeAttachOptions> actual, IReadOnlyList<VolumeAttachOptions> desired, List<VmSpecChange> changes)
    {
        changes.AddRange(actual.Except(desired).Select(attachment => new DismountVolumeChange(name, attachment)));
        changes.AddRange(desired.Except(actual).Select(attachment => new MountVolumeChange(name, attachment)));
    }
}

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum VmSpecOutcome
{
    /// <summary>The VM did not exist and was created.</summary>
    Created,

    /// <summary>The VM existed and at least one step changed it.</summary>
    Changed,

    /// <summary>The VM already matched the spec, or nothing could be changed.</summary>
    Unchanged,
}

/// <summary>What Import-VmSpec did for one spec (VmPs.VmSpecResult).</summary>
public sealed record VmSpecResult
{
    public required string Name { get; init; }

    public required VmSpecOutcome Outcome { get; init; }

    /// <summary>The steps applied, as the plan words them.</summary>
    public required IReadOnlyList<string> Changes { get; init; }

    /// <summary>The differences that remain because no step can make them.</summary>
    public required IReadOnlyList<string> NotChanged { get; init; }

    /// <summary>The spec file.</summary>
    public required string Path { get; init; }
}
