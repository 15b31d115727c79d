using VmPs.Core.Host;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Core.Hypervisors;

/// <summary>One hypervisor VmPs can run VMs on: the program the host must have, and how to make its driver.</summary>
/// <param name="Kind">The kind VM rows record and -Hypervisor names.</param>
/// <param name="Tool">The host program (and its package) the probe looks for.</param>
/// <param name="NeedsKvm">Whether it can only run where KVM really runs guests.</param>
/// <param name="CreateDriver">
/// Makes the driver for this host and the QEMU machine the VM runs on (null: the default; a hypervisor with one
/// machine ignores it). Called only when the hypervisor is runnable.
/// </param>
public sealed record HypervisorRegistration(
    HypervisorKind Kind,
    HostToolDefinition Tool,
    bool NeedsKvm,
    Func<HostReport, QemuMachine?, IHypervisorDriver> CreateDriver);

/// <summary>
/// The hypervisor drivers, registered by kind in order of preference, and the choice of one for a VM:
/// the requested kind, or (Auto) the first runnable one whose capabilities cover what the VM needs.
/// A new driver is one more registration; nothing else chooses by type.
/// </summary>
public sealed class HypervisorRegistry
{
    private readonly IReadOnlyList<HypervisorRegistration> registrations;

    public HypervisorRegistry(IEnumerable<HypervisorRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        this.registrations = registrations.ToList();
        if (this.registrations.GroupBy(registration => registration.Kind).FirstOrDefault(group => group.Count() > 1) is { } duplicate)
        {
            throw new ArgumentException($"{duplicate.Key} is registered twice.", nameof(registrations));
        }
    }

    /// <summary>Cloud Hypervisor first (where KVM runs guests), then QEMU (with TCG if need be).</summary>
    public static HypervisorRegistry Default() => new(
    [
        new(HypervisorKind.CloudHypervisor, HostToolCatalog.CloudHypervisor, NeedsKvm: true, (_, _) => new CloudHypervisorDriver()),
        new(HypervisorKind.Qemu, HostToolCatalog.Qemu, NeedsKvm: false, (report, machine) => new QemuDriver(QemuDriverOptions.ForHost(report, machine ?? QemuMachine.Microvm))),
    ]);

    public IReadOnlyList<HypervisorRegistration> Registrations => registrations;

    /// <summary>
    /// The driver for a VM on this host. A requested kind must be installed, runnable and able to do
    /// <paramref name="required"/>; Auto (null) takes the first registration that is. <paramref name="machine"/> is
    /// the QEMU machine of the VM (null: the default). Errors: HypervisorNotInstalled, KvmUnavailable,
    /// HypervisorFeatureNotSupported.
    /// </summary>
    public IHypervisorDriver Select(HostReport host, HypervisorKind? requested, HypervisorFeatures required = HypervisorFeatures.None, QemuMachine? machine = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (requested is { } kind)
        {
            var registration = registrations.FirstOrDefault(candidate => candidate.Kind == kind)
                ?? throw new ArgumentOutOfRangeException(nameof(requested), kind, "No driver is registered for this hypervisor.");
            EnsureRunnable(host, registration);
            var driver = registration.CreateDriver(host, machine);
            driver.Capabilities.Require(required, kind);
            return driver;
        }

        var runnable = registrations.Where(registration => IsRunnable(host, registration)).Select(registration => registration.CreateDriver(host, machine)).ToList();
        return runnable.FirstOrDefault(driver => driver.Capabilities.Supports(required))
            ?? throw (runnable.Count > 0 ? runnable[0].Capabilities.NotSupported(runnable[0].Capabilities.Missing(required)) : NoneInstalled(host));
    }

    private static bool IsRunnable(HostReport host, HypervisorRegistration registration) =>
        Tool(host, registration.Kind).Installed && (!registration.NeedsKvm || host.Kvm.Usable);

    private static void EnsureRunnable(HostReport host, HypervisorRegistration registration)
    {
        var tool = Tool(host, registration.Kind);
        if (!tool.Installed)
        {
            throw new VmPsException(VmPsErrorIds.HypervisorNotInstalled, VmPsErrorKind.NotInstalled, $"{tool.Name} is not installed.", registration.Kind)
            {
                RecommendedAction = $"Install {tool.Package}, or use -Hypervisor Auto.",
            };
        }

        if (registration.NeedsKvm && !host.Kvm.Usable)
        {
            throw new VmPsException(VmPsErrorIds.KvmUnavailable, VmPsErrorKind.ResourceUnavailable, $"{tool.Name} needs KVM, which cannot run guests here: {host.Kvm.Detail}.", registration.Kind)
            {
                RecommendedAction = "Use -Hypervisor Qemu (TCG) or run on a host with working KVM.",
            };
        }
    }

    private VmPsException NoneInstalled(HostReport host)
    {
        var reasons = registrations.Select(registration =>
        {
            var tool = Tool(host, registration.Kind);
            return tool.Installed ? $"{tool.Name} needs KVM, which cannot run guests here" : $"{tool.Name} is not installed";
        });
        return new VmPsException(VmPsErrorIds.HypervisorNotInstalled, VmPsErrorKind.NotInstalled, $"No usable hypervisor: {string.Join("; ", reasons)}.")
        {
            RecommendedAction = "Install " + string.Join(" or ", registrations.Select(registration => Tool(host, registration.Kind).Package))
                + (registrations.Any(registration => registration.NeedsKvm) ? " (those that need KVM only help on a host where it works)." : "."),
        };
    }

    private static HostTool Tool(HostReport host, HypervisorKind kind) =>
        host.Hypervisors.FirstOrDefault(hypervisor => hypervisor.Kind == kind)?.Tool
        ?? throw new InvalidOperationException($"The host report does not describe {kind}.");
}
