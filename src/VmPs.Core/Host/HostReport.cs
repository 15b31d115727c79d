using Newtonsoft.Json.Converters;
using VmPs.Core.Hypervisors;
using VmPs.Core.Ingress;
using VmPs.Core.Kernels;
using VmPs.Core.Storage;

namespace VmPs.Core.Host;

/// <summary>A host program VmPs uses, and the Debian/Ubuntu package that provides it when missing.</summary>
public sealed record HostTool(string Name, string? Path, string? Version, string Package)
{
    public bool Installed => Path is not null;
}

public sealed record HypervisorAvailability(
    HypervisorKind Kind,
    HostTool Tool,
    bool Usable,
    string? Reason);

[Newtonsoft.Json.JsonConverter(typeof(StringEnumConverter))]
public enum Accelerator
{
    Kvm,
    Tcg,
}

/// <summary>Whether KVM can really run a guest: /dev/kvm may exist yet be unable to boot a stock kernel.</summary>
public sealed record KvmStatus(bool DevicePresent, bool Usable, string Detail);

/// <summary>A guest kernel.</summary>
/// <param name="Path">The kernel image every hypervisor boots (a bzImage).</param>
/// <param name="Version">Its release, as uname -r shows it in the guest.</param>
/// <param name="ModulesDirectory">/lib/modules/VERSION, whose modules the initrd carries; null: none (all built in, or missing).</param>
/// <param name="VmlinuxPath">The same kernel uncompressed, with a PVH entry: direct boot takes it where the hypervisor can
/// (QEMU microvm, Cloud Hypervisor), skipping decompression. Null: only <paramref name="Path"/>.</param>
public sealed record KernelInfo(string Path, string Version, string? ModulesDirectory, string? VmlinuxPath = null);

/// <summary>Everything Get-VmHost reports (VmPs.VmHost).</summary>
public sealed record HostReport
{
    public required IReadOnlyList<HypervisorAvailability> Hypervisors { get; init; }

    public required KvmStatus Kvm { get; init; }

    /// <summary>Accelerator QEMU uses here: KVM only when a boot test under KVM passed.</summary>
    public required Accelerator QemuAccelerator { get; init; }

    /// <summary>The kernel New-Vm gives a VM without -Kernel: the VmPs kernel when built, else the distro kernel.</summary>
    public required KernelInfo? DefaultKernel { get; init; }

    /// <summary>The host's newest distro kernel with its modules (/boot/vmlinuz-VERSION, /lib/modules/VERSION).</summary>
    public KernelInfo? DistroKernel { get; init; }

    /// <summary>The current VmPs kernel of the state directory (Build-VmKernel), or null when none is built.</summary>
    public VmPsKernel? VmPsKernel { get; init; }

    public required IReadOnlyList<HostTool> Tools { get; init; }

    /// <summary>The firmware each hypervisor boots disk images through, found or not, with what provides it.</summary>
    public IReadOnlyList<HostFirmware> Firmware { get; init; } = [];

    /// <summary>/dev/vhost-vsock exists, so QEMU can give guests a kernel vsock (else the agent uses virtio-serial).</summary>
    public bool VhostVsockAvailable { get; init; }

    public required string StateDirectory { get; init; }

    /// <summary>Where new volumes are made (Set-VmHost -StorageBackend).</summary>
    public StorageSettings Storage { get; init; } = StorageSettings.Default;

    /// <summary>The ingress's domain and ACME CA (Set-VmHost -IngressDomain, -AcmeDirectory).</summary>
    public IngressHostSettings Ingress { get; init; } = IngressHostSettings.Default;

    /// <summary>Human-readable problems, each naming what to install.</summary>
    public required IReadOnlyList<string> Problems { get; init; }
}
