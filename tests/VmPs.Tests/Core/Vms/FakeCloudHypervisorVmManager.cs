using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;
using VmPs.Tests.Core.State;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// A VmManager in a scratch VmPs home whose Cloud Hypervisor is the fake, started by <see cref="Launcher"/> (no guest
/// runs in it). Disposing it removes its VMs, ends the fakes and deletes the home.
/// </summary>
internal sealed class FakeCloudHypervisorVmManager : IAsyncDisposable
{
    public FakeCloudHypervisorVmManager()
    {
        Manager = Create(Home, Launcher);
    }

    public TemporaryVmPsHome Home { get; } = new();

    public FakeCloudHypervisorLauncher Launcher { get; } = new();

    public VmManager Manager { get; }

    public async ValueTask DisposeAsync()
    {
        Manager.RemoveAllVms();
        await Launcher.DisposeAsync();
        Home.Dispose();
    }

    private static VmManager Create(TemporaryVmPsHome home, FakeCloudHypervisorLauncher launcher)
    {
        var database = new StateDatabase(home.Paths.StateDatabase);
        var registry = new HypervisorRegistry(
        [
            new(HypervisorKind.CloudHypervisor, HostToolCatalog.CloudHypervisor, NeedsKvm: true, (_, _) => new CloudHypervisorDriver(launcher)),
            .. HypervisorRegistry.Default().Registrations.Where(registration => registration.Kind != HypervisorKind.CloudHypervisor),
        ]);
        var host = new HostContext(_ => Task.FromResult(CloudHypervisorHost()), registry, database);
        return new VmManager(
            home.Paths, database, host, new Lazy<NetworkManager>(() => new NetworkManager(home.Paths, database, NetworkNamespace.FromEnvironment(), null)), new VmManagerSettings());
    }

    private static HostReport CloudHypervisorHost() => VmTestHost.QemuHost(KernelLocator.FindDefault()) with
    {
        Hypervisors =
        [
            new HypervisorAvailability(HypervisorKind.CloudHypervisor, new HostTool("cloud-hypervisor", "/usr/bin/cloud-hypervisor", "53.0", HostToolCatalog.CloudHypervisor.Package), true, null),
            new HypervisorAvailability(HypervisorKind.Qemu, new HostTool("qemu-system-x86_64", null, null, "qemu-system-x86"), false, "not installed"),
        ],
        Kvm = new KvmStatus(true, true, "the fake Cloud Hypervisor runs no guest"),
    };
}
