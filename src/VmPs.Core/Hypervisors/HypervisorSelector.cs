using VmPs.Core.Host;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Core.Hypervisors;

/// <summary>
/// Picks the hypervisor driver for a VM from what the host probe found. Auto (null) prefers Cloud
/// Hypervisor when it is installed and KVM really runs guests, else QEMU (with TCG if need be).
/// </summary>
public sealed class HypervisorSelector
{
    private readonly HostReport _host;
    private readonly Func<IHypervisorDriver> _createCloudHypervisor;
    private readonly QemuMachine _qemuMachine;

    /// <param name="host">The host probe's report.</param>
    /// <param name="createCloudHypervisor">Creates the Cloud Hypervisor driver (only called when CH is chosen).</param>
    /// <param name="qemuMachine">Machine type for QEMU VMs.</param>
    public HypervisorSelector(HostReport host, Func<IHypervisorDriver> createCloudHypervisor, QemuMachine qemuMachine = QemuMachine.Microvm)
    {
        _host = host;
        _createCloudHypervisor = createCloudHypervisor;
        _qemuMachine = qemuMachine;
    }

    /// <summary>The kind <see cref="Select"/> would use, without creating a driver.</summary>
    public HypervisorKind Resolve(HypervisorKind? requested)
    {
        if (requested is { } kind)
        {
            EnsureRunnable(kind);
            return kind;
        }

        if (IsInstalled(HypervisorKind.CloudHypervisor) && _host.Kvm.Usable)
        {
            return HypervisorKind.CloudHypervisor;
        }

        if (IsInstalled(HypervisorKind.Qemu))
        {
            return HypervisorKind.Qemu;
        }

        throw new VmPsException(
            "HypervisorNotInstalled",
            VmPsErrorKind.NotInstalled,
            "No usable hypervisor: qemu-system-x86_64 is not installed"
                + (IsInstalled(HypervisorKind.CloudHypervisor) ? " and cloud-hypervisor needs KVM, which cannot run guests here." : " and neither is cloud-hypervisor."))
        {
            RecommendedAction = $"Install {Tool(HypervisorKind.Qemu).Package} (or {Tool(HypervisorKind.CloudHypervisor).Package} on a host with working KVM).",
        };
    }

    public IHypervisorDriver Select(HypervisorKind? requested) => Resolve(requested) switch
    {
        HypervisorKind.CloudHypervisor => _createCloudHypervisor(),
        HypervisorKind.Qemu => new QemuDriver(QemuDriverOptions.ForHost(_host, _qemuMachine)),
        var kind => throw new ArgumentOutOfRangeException(nameof(requested), kind, "Unknown hypervisor."),
    };

    private void EnsureRunnable(HypervisorKind kind)
    {
        var tool = Tool(kind);
        if (!tool.Installed)
        {
            throw new VmPsException("HypervisorNotInstalled", VmPsErrorKind.NotInstalled, $"{tool.Name} is not installed.", kind)
            {
                RecommendedAction = $"Install {tool.Package}, or use -Hypervisor Auto.",
            };
        }

        if (kind == HypervisorKind.CloudHypervisor && !_host.Kvm.Usable)
        {
            throw new VmPsException("KvmUnavailable", VmPsErrorKind.ResourceUnavailable, $"Cloud Hypervisor needs KVM, which cannot run guests here: {_host.Kvm.Detail}.", kind)
            {
                RecommendedAction = "Use -Hypervisor Qemu (TCG) or run on a host with working KVM.",
            };
        }
    }

    private bool IsInstalled(HypervisorKind kind) => Tool(kind).Installed;

    private HostTool Tool(HypervisorKind kind) =>
        _host.Hypervisors.FirstOrDefault(hypervisor => hypervisor.Kind == kind)?.Tool
        ?? throw new InvalidOperationException($"The host report does not describe {kind}.");
}
