using VmPs.Core.Hypervisors;

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

public enum Accelerator
{
    Kvm,
    Tcg,
}

/// <summary>Whether KVM can really run a guest: /dev/kvm may exist yet be unable to boot a stock kernel.</summary>
public sealed record KvmStatus(bool DevicePresent, bool Usable, string Detail);

public sealed record KernelInfo(string Path, string Version, string? ModulesDirectory);

/// <summary>Everything Get-VmHost reports (VmPs.VmHost).</summary>
public sealed record HostReport
{
    public required IReadOnlyList<HypervisorAvailability> Hypervisors { get; init; }

    public required KvmStatus Kvm { get; init; }

    /// <summary>Accelerator QEMU uses here: KVM only when a boot test under KVM passed.</summary>
    public required Accelerator QemuAccelerator { get; init; }

    public required KernelInfo? DefaultKernel { get; init; }

    public required IReadOnlyList<HostTool> Tools { get; init; }

    /// <summary>/dev/vhost-vsock exists, so QEMU can give guests a kernel vsock (else the agent uses virtio-serial).</summary>
    public bool VhostVsockAvailable { get; init; }

    public required string StateDirectory { get; init; }

    /// <summary>Human-readable problems, each naming what to install.</summary>
    public required IReadOnlyList<string> Problems { get; init; }
}
