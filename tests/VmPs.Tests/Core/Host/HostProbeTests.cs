using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Host;

/// <summary>Probes this real host once (the KVM boot test included) for all tests of the class.</summary>
public sealed class RealHostProbeFixture : IAsyncLifetime
{
    private readonly ScratchDirectory scratch = new();

    public VmPsPaths Paths { get; private set; } = null!;

    public HostReport Report { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Paths = new VmPsPaths(scratch.Combine("state"));
        // The KVM boot test boots the real guest binary: fail here, clearly, when it was not built.
        var options = new HostProbeOptions { GuestBinaryPath = GuestBinary.Locate() };
        Report = await HostProbe.ProbeAsync(Paths, options, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        scratch.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A fact for this build machine: its /dev/kvm is PVM-based nested KVM, which cannot boot a stock kernel.</summary>
public sealed class RequiresPvmKvmFactAttribute : FactAttribute
{
    public RequiresPvmKvmFactAttribute()
    {
        if (!Directory.Exists("/sys/module/kvm_pvm"))
        {
            Skip = "skipped: KVM here is not PVM-based (no /sys/module/kvm_pvm)";
        }
        else if (!File.Exists("/dev/kvm"))
        {
            Skip = "skipped: no /dev/kvm on this host (the kvm_pvm module is loaded but its device is not available here)";
        }
        else if (new RequiresGuestKernelFactAttribute("qemu-system-x86_64").Skip is { } skip)
        {
            Skip = skip;
        }
    }
}

/// <summary>Only a host with /dev/kvm boot-tests KVM (and caches the verdict); without it the probe answers at once.</summary>
public sealed class RequiresKvmDeviceFactAttribute : FactAttribute
{
    public RequiresKvmDeviceFactAttribute()
    {
        if (!File.Exists("/dev/kvm"))
        {
            Skip = "skipped: no /dev/kvm on this host, so no KVM boot test runs and no verdict is cached";
        }
        else if (new RequiresGuestKernelFactAttribute("qemu-system-x86_64").Skip is { } skip)
        {
            Skip = skip;
        }
    }
}

[Collection(VmBootCollection.Name)]
public sealed class HostProbeTests : IClassFixture<RealHostProbeFixture>
{
    private readonly RealHostProbeFixture host;
    private readonly ITestOutputHelper output;

    public HostProbeTests(RealHostProbeFixture host, ITestOutputHelper output)
    {
        this.host = host;
        this.output = output;
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public void QemuIsReportedWithItsVersion()
    {
        var qemu = host.Report.Hypervisors.Single(hypervisor => hypervisor.Kind == HypervisorKind.Qemu);

        Assert.True(qemu.Usable);
        Assert.Equal(VmPs.Core.Processes.DetachedProcess.FindOnPath("qemu-system-x86_64", HostToolCatalog.DefaultSearchPath()), qemu.Tool.Path);
        Assert.Matches(@"^\d+\.\d+(\.\d+)?$", qemu.Tool.Version);
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public void KvmVerdictComesFromARealBootAndDecidesTheAccelerator()
    {
        var report = host.Report;
        output.WriteLine($"KVM: {report.Kvm}");
        if (!File.Exists("/dev/kvm"))
        {
            Assert.False(report.Kvm.DevicePresent);
            Assert.False(report.Kvm.Usable);
        }
        else
        {
            Assert.True(report.Kvm.DevicePresent);
            Assert.DoesNotContain("not verified", report.Kvm.Detail);
        }

        Assert.Equal(report.Kvm.Usable ? Accelerator.Kvm : Accelerator.Tcg, report.QemuAccelerator);
        Assert.Equal(report.Kvm.Usable && report.Hypervisors.Single(h => h.Kind == HypervisorKind.CloudHypervisor).Tool.Installed,
            report.Hypervisors.Single(h => h.Kind == HypervisorKind.CloudHypervisor).Usable);
    }

    [RequiresPvmKvmFact]
    public void PvmBasedKvmIsDetectedAsUnableToRunGuests()
    {
        Assert.False(host.Report.Kvm.Usable);
        Assert.Equal(Accelerator.Tcg, host.Report.QemuAccelerator);
        Assert.Contains("cannot boot a guest", host.Report.Kvm.Detail);
        Assert.Contains(host.Report.Problems, problem => problem.Contains("TCG", StringComparison.Ordinal));
    }

    [RequiresKvmDeviceFact]
    public async Task KvmVerdictIsCachedForThisBoot()
    {
        var cached = Directory.GetFiles(Path.Combine(host.Paths.CacheDirectory, "kvm-probe"), "*.json");
        Assert.Single(cached);

        var again = await HostProbe.ProbeAsync(host.Paths, new HostProbeOptions { GuestBinaryPath = GuestBinary.Locate() }, CancellationToken.None);

        Assert.Equal(host.Report.Kvm, again.Kvm);
        Assert.Empty(Directory.GetDirectories(Path.Combine(host.Paths.CacheDirectory, "kvm-probe")));
    }

    [RequiresGuestKernelFact("qemu-system-x86_64")]
    public void DefaultKernelAndStateDirectoryAreReported()
    {
        Assert.Equal(KernelLocator.FindDefault(), host.Report.DefaultKernel);
        Assert.Equal(host.Paths.Root, host.Report.StateDirectory);
        Assert.Equal(File.Exists("/dev/vhost-vsock"), host.Report.VhostVsockAvailable);
    }
}

public sealed class HostProbeMissingToolsTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task EveryMissingThingIsNamedWithItsPackage()
    {
        var emptyDirectory = scratch.Combine("empty");
        Directory.CreateDirectory(emptyDirectory);
        var options = new HostProbeOptions { SearchPath = emptyDirectory, BootDirectory = emptyDirectory };

        var report = await HostProbe.ProbeAsync(new VmPsPaths(scratch.Combine("state")), options, CancellationToken.None);

        Assert.All(report.Tools, tool => Assert.False(tool.Installed, tool.Name));
        Assert.All(report.Hypervisors, hypervisor => Assert.False(hypervisor.Usable));
        Assert.Null(report.DefaultKernel);
        Assert.Equal(Accelerator.Tcg, report.QemuAccelerator);
        foreach (var (tool, package) in new[]
        {
            ("qemu-system-x86_64", "qemu-system-x86"),
            ("cloud-hypervisor", "cloud-hypervisor"),
            ("mkfs.erofs", "erofs-utils"),
            ("mkfs.ext4", "e2fsprogs"),
            ("busybox", "busybox-static"),
        })
        {
            Assert.Contains(report.Problems, problem => problem.StartsWith(tool + " ", StringComparison.Ordinal) && problem.Contains(package, StringComparison.Ordinal));
        }

        Assert.Contains(report.Problems, problem => problem.Contains("linux-image-cloud-amd64", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DynamicallyLinkedBusyboxIsAProblem()
    {
        var bin = scratch.Combine("bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "busybox"), "/bin/ls");
        var options = new HostProbeOptions { SearchPath = bin, BootDirectory = bin };

        var report = await HostProbe.ProbeAsync(new VmPsPaths(scratch.Combine("state")), options, CancellationToken.None);

        Assert.True(report.Tools.Single(tool => tool.Name == "busybox").Installed);
        Assert.Contains(report.Problems, problem => problem.Contains("dynamically linked", StringComparison.Ordinal) && problem.Contains("busybox-static", StringComparison.Ordinal));
    }
}
