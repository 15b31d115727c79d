using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Tests.Core.Hypervisors;

public sealed class HypervisorSelectorTests
{
    private static readonly HostTool QemuInstalled = new("qemu-system-x86_64", "/usr/bin/qemu-system-x86_64", "7.2.22", "qemu-system-x86");
    private static readonly HostTool QemuMissing = QemuInstalled with { Path = null, Version = null };
    private static readonly HostTool ChInstalled = new("cloud-hypervisor", "/usr/bin/cloud-hypervisor", "53.0", HostToolCatalog.CloudHypervisor.Package);
    private static readonly HostTool ChMissing = ChInstalled with { Path = null, Version = null };

    [Fact]
    public void AutoPicksCloudHypervisorWhenInstalledAndKvmWorks()
    {
        var cloudHypervisor = new RecordingDriver();
        var selector = new HypervisorSelector(Report(ChInstalled, QemuInstalled, kvmUsable: true), () => cloudHypervisor);

        Assert.Same(cloudHypervisor, selector.Select(null));
    }

    [Fact]
    public void AutoPicksQemuWithTcgWhenKvmCannotRunGuests()
    {
        var selector = new HypervisorSelector(Report(ChInstalled, QemuInstalled, kvmUsable: false), () => throw new InvalidOperationException("CH must not be created"));

        var driver = Assert.IsType<QemuDriver>(selector.Select(null));

        Assert.Equal(HypervisorKind.Qemu, driver.Kind);
    }

    [Fact]
    public void AutoPicksQemuWhenCloudHypervisorIsMissing()
    {
        var selector = new HypervisorSelector(Report(ChMissing, QemuInstalled, kvmUsable: true), () => throw new InvalidOperationException("CH must not be created"));

        Assert.Equal(HypervisorKind.Qemu, selector.Resolve(null));
    }

    [Fact]
    public void NothingInstalledNamesThePackages()
    {
        var selector = new HypervisorSelector(Report(ChMissing, QemuMissing, kvmUsable: false), () => new RecordingDriver());

        var error = Assert.Throws<VmPsException>(() => selector.Select(null));

        Assert.Equal("HypervisorNotInstalled", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains("qemu-system-x86", error.RecommendedAction);
        Assert.Contains("cloud-hypervisor", error.RecommendedAction);
    }

    [Fact]
    public void RequestedHypervisorThatIsMissingNamesItsPackage()
    {
        var selector = new HypervisorSelector(Report(ChMissing, QemuInstalled, kvmUsable: true), () => new RecordingDriver());

        var error = Assert.Throws<VmPsException>(() => selector.Select(HypervisorKind.CloudHypervisor));

        Assert.Equal("HypervisorNotInstalled", error.ErrorId);
        Assert.Contains("cloud-hypervisor", error.Message);
        Assert.Contains("github.com/cloud-hypervisor", error.RecommendedAction);
    }

    [Fact]
    public void CloudHypervisorWithoutWorkingKvmIsRefused()
    {
        var selector = new HypervisorSelector(Report(ChInstalled, QemuInstalled, kvmUsable: false), () => new RecordingDriver());

        var error = Assert.Throws<VmPsException>(() => selector.Select(HypervisorKind.CloudHypervisor));

        Assert.Equal("KvmUnavailable", error.ErrorId);
        Assert.Contains("PVM test detail", error.Message);
    }

    [Fact]
    public void RequestedQemuIsUsedEvenWhenCloudHypervisorWouldWin()
    {
        var selector = new HypervisorSelector(Report(ChInstalled, QemuInstalled, kvmUsable: true), () => new RecordingDriver(), QemuMachine.Q35);

        Assert.IsType<QemuDriver>(selector.Select(HypervisorKind.Qemu));
    }

    private static HostReport Report(HostTool cloudHypervisor, HostTool qemu, bool kvmUsable) => new()
    {
        Hypervisors =
        [
            new HypervisorAvailability(HypervisorKind.CloudHypervisor, cloudHypervisor, cloudHypervisor.Installed && kvmUsable, null),
            new HypervisorAvailability(HypervisorKind.Qemu, qemu, qemu.Installed, null),
        ],
        Kvm = new KvmStatus(true, kvmUsable, "PVM test detail"),
        QemuAccelerator = kvmUsable ? Accelerator.Kvm : Accelerator.Tcg,
        DefaultKernel = null,
        Tools = [cloudHypervisor, qemu],
        StateDirectory = "/var/lib/vmps",
        Problems = [],
    };

    private sealed class RecordingDriver : IHypervisorDriver
    {
        public HypervisorKind Kind => HypervisorKind.CloudHypervisor;

        public HypervisorCapabilities Capabilities { get; } = new(true, true, true, false);

        public Task<HypervisorInstance> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task PressPowerButtonAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task KillAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
