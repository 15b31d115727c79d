using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.Qemu;

namespace VmPs.Tests.Core.Hypervisors;

public sealed class HypervisorRegistryTests
{
    private static readonly HostTool QemuInstalled = new("qemu-system-x86_64", "/usr/bin/qemu-system-x86_64", "7.2.22", "qemu-system-x86");
    private static readonly HostTool QemuMissing = QemuInstalled with { Path = null, Version = null };
    private static readonly HostTool ChInstalled = new("cloud-hypervisor", "/usr/bin/cloud-hypervisor", "53.0", HostToolCatalog.CloudHypervisor.Package);
    private static readonly HostTool ChMissing = ChInstalled with { Path = null, Version = null };

    [Fact]
    public void AutoPicksCloudHypervisorWhenInstalledAndKvmWorks()
    {
        var cloudHypervisor = new RecordingDriver(HypervisorFeatures.Vsock);

        Assert.Same(cloudHypervisor, Registry(() => cloudHypervisor).Select(Report(ChInstalled, QemuInstalled, kvmUsable: true), null));
    }

    [Fact]
    public void AutoPicksQemuWithTcgWhenKvmCannotRunGuests()
    {
        var driver = Assert.IsType<QemuDriver>(Registry(CloudHypervisorMustNotBeCreated).Select(Report(ChInstalled, QemuInstalled, kvmUsable: false), null));

        Assert.Equal(HypervisorKind.Qemu, driver.Kind);
    }

    [Fact]
    public void AutoPicksQemuWhenCloudHypervisorIsMissing()
    {
        Assert.Equal(HypervisorKind.Qemu, Registry(CloudHypervisorMustNotBeCreated).Select(Report(ChMissing, QemuInstalled, kvmUsable: true), null).Kind);
    }

    [Fact]
    public void AutoSkipsADriverThatLacksWhatTheVmNeeds()
    {
        var registry = Registry(() => new RecordingDriver(HypervisorFeatures.Vsock));

        var driver = registry.Select(Report(ChInstalled, QemuInstalled, kvmUsable: true), null, HypervisorFeatures.Qcow2Disks);

        Assert.Equal(HypervisorKind.Qemu, driver.Kind);
        Assert.True(driver.Capabilities.Supports(HypervisorFeatures.Qcow2Disks));
    }

    [Fact]
    public void ARequestedDriverWithoutAFeatureFailsNamingTheDriverAndTheFeature()
    {
        var registry = Registry(() => new RecordingDriver(HypervisorFeatures.Vsock));

        var error = Assert.Throws<VmPsException>(() => registry.Select(Report(ChInstalled, QemuInstalled, kvmUsable: true), HypervisorKind.CloudHypervisor, HypervisorFeatures.Bios | HypervisorFeatures.Vsock));

        Assert.Equal("HypervisorFeatureNotSupported", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidOperation, error.Kind);
        Assert.Equal("BIOS boot is not supported by Recording driver.", error.Message);
    }

    [Fact]
    public void WhenNoRunnableDriverHasAFeatureThePreferredOneIsNamed()
    {
        var registry = HypervisorRegistry.Default();

        var error = Assert.Throws<VmPsException>(() => registry.Select(Report(ChMissing, QemuInstalled, kvmUsable: false), null, HypervisorFeatures.DiskHotplug | HypervisorFeatures.Uefi));

        Assert.Equal("HypervisorFeatureNotSupported", error.ErrorId);
        Assert.Equal("Hot-plugging disks and UEFI boot are not supported by QEMU (microvm).", error.Message);
    }

    [Fact]
    public void NothingInstalledNamesThePackages()
    {
        var error = Assert.Throws<VmPsException>(() => Registry(() => new RecordingDriver()).Select(Report(ChMissing, QemuMissing, kvmUsable: false), null));

        Assert.Equal("HypervisorNotInstalled", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains("qemu-system-x86", error.RecommendedAction);
        Assert.Contains("cloud-hypervisor", error.RecommendedAction);
    }

    [Fact]
    public void RequestedHypervisorThatIsMissingNamesItsPackage()
    {
        var error = Assert.Throws<VmPsException>(() => Registry(() => new RecordingDriver()).Select(Report(ChMissing, QemuInstalled, kvmUsable: true), HypervisorKind.CloudHypervisor));

        Assert.Equal("HypervisorNotInstalled", error.ErrorId);
        Assert.Contains("cloud-hypervisor", error.Message);
        Assert.Contains("github.com/cloud-hypervisor", error.RecommendedAction);
    }

    [Fact]
    public void CloudHypervisorWithoutWorkingKvmIsRefused()
    {
        var error = Assert.Throws<VmPsException>(() => Registry(() => new RecordingDriver()).Select(Report(ChInstalled, QemuInstalled, kvmUsable: false), HypervisorKind.CloudHypervisor));

        Assert.Equal("KvmUnavailable", error.ErrorId);
        Assert.Contains("PVM test detail", error.Message);
    }

    [Fact]
    public void RequestedQemuIsUsedEvenWhenCloudHypervisorWouldWin()
    {
        var registry = HypervisorRegistry.Default();

        Assert.IsType<QemuDriver>(registry.Select(Report(ChInstalled, QemuInstalled, kvmUsable: true), HypervisorKind.Qemu));
    }

    [Fact]
    public void TheVmsMachineChoosesTheQemuDriversCapabilities()
    {
        var report = Report(ChMissing, QemuInstalled, kvmUsable: false);

        var q35 = HypervisorRegistry.Default().Select(report, HypervisorKind.Qemu, HypervisorFeatures.DiskHotplug, QemuMachine.Q35);
        var microvm = HypervisorRegistry.Default().Select(report, HypervisorKind.Qemu, machine: null);

        Assert.Equal("QEMU (q35)", q35.Capabilities.Driver);
        Assert.Equal("QEMU (microvm)", microvm.Capabilities.Driver);
        Assert.False(microvm.Capabilities.Supports(HypervisorFeatures.DiskHotplug));
    }

    [Fact]
    public void AKindIsRegisteredOnce()
    {
        var qemu = HypervisorRegistry.Default().Registrations.Single(registration => registration.Kind == HypervisorKind.Qemu);

        Assert.Throws<ArgumentException>(() => new HypervisorRegistry([qemu, qemu]));
    }

    /// <summary>The default registrations, with Cloud Hypervisor's driver made by <paramref name="createCloudHypervisor"/>.</summary>
    private static HypervisorRegistry Registry(Func<IHypervisorDriver> createCloudHypervisor) => new(
        HypervisorRegistry.Default().Registrations.Select(registration => registration.Kind == HypervisorKind.CloudHypervisor
            ? registration with { CreateDriver = (_, _) => createCloudHypervisor() }
            : registration));

    private static IHypervisorDriver CloudHypervisorMustNotBeCreated() => throw new InvalidOperationException("CH must not be created");

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

    private sealed class RecordingDriver(HypervisorFeatures features = HypervisorFeatures.None) : IHypervisorDriver
    {
        public HypervisorKind Kind => HypervisorKind.CloudHypervisor;

        public HypervisorCapabilities Capabilities { get; } = new("Recording driver", features);

        public Task<HypervisorInstance> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task PressPowerButtonAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task KillAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task PauseAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task ResumeAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SaveStateAsync(HypervisorInstance instance, string directory, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<HypervisorInstance> RestoreAsync(VmLaunchSpec spec, string directory, Task verified, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task AttachDiskAsync(HypervisorInstance instance, string deviceId, DiskSpec disk, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DetachDiskAsync(HypervisorInstance instance, string deviceId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task SnapshotDiskAsync(HypervisorInstance instance, int diskIndex, string path, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task ResizeAsync(HypervisorInstance instance, int? cpus, int? memoryMiB, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<VmPs.Core.Metering.DiskCounters> ReadDiskCountersAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Stream> ConnectConsoleAsync(HypervisorInstance instance, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
