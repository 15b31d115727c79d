using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Set-Vm on a running Cloud Hypervisor VM, through VmManager and the driver against the fake CH (vm.resize as CH
/// documents it): vCPUs up and down within max_vcpus, memory added in 128 MiB blocks within hotplug_size, and the
/// refusals that say to stop the VM first.
/// </summary>
public sealed class CloudHypervisorResizeTests : IAsyncLifetime
{
    private readonly TemporaryVmPsHome home = new();
    private readonly ChTestVm chVm = new();
    private readonly FakeCloudHypervisorLauncher launcher = new();
    private VmManager manager = null!;
    private HypervisorInstance instance = null!;
    private string launchSpecPath = null!;

    public async Task InitializeAsync()
    {
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var registry = new HypervisorRegistry(HypervisorRegistry.Default().Registrations.Select(registration => registration.Kind == HypervisorKind.CloudHypervisor
            ? registration with { CreateDriver = (_, _) => new CloudHypervisorDriver(launcher) }
            : registration));
        var host = new HostContext(_ => Task.FromResult(Report()), registry, database);
        manager = new VmManager(
            home.Paths,
            database,
            host,
            new Lazy<NetworkManager>(() => new NetworkManager(home.Paths, database, NetworkNamespace.Current, null)),
            new VmManagerSettings());

        var spec = chVm.Spec() with { MaxCpus = 4, MaxMemoryMiB = 1024 };
        instance = await new CloudHypervisorDriver(launcher).LaunchAsync(spec, CancellationToken.None);
        var store = new VmStore(database);
        var vm = await store.InsertAsync(StoreFixtures.Vm("elastic") with { Hypervisor = HypervisorKind.CloudHypervisor }, CancellationToken.None);
        launchSpecPath = new VmPs.Core.Storage.VmFiles(home.Paths.VmDirectory(vm.Id.ToString("N"))).LaunchSpec;
        Directory.CreateDirectory(Path.GetDirectoryName(launchSpecPath)!);
        await File.WriteAllTextAsync(launchSpecPath, VmSavedState.Describe(spec));
        await store.UpdateAsync(
            vm.Id,
            current => current with { State = VmState.Running, Instance = instance, StartedAt = DateTimeOffset.UtcNow, Cpus = spec.Cpus, MemoryMiB = spec.MemoryMiB },
            CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await launcher.DisposeAsync();
        chVm.Dispose();
        home.Dispose();
    }

    [Fact]
    public async Task VcpusAndMemoryChangeWhileTheVmRunsAndTheRowFollows()
    {
        var grown = await manager.SetAsync("elastic", new VmSetOptions { Cpus = 4, MemoryMiB = 768 }, dryRun: false, CancellationToken.None);

        Assert.Equal((4, 768), (grown.Cpus, grown.MemoryMiB));
        var config = await ConfigAsync();
        Assert.Equal(4, config.Cpus!.BootVcpus);
        Assert.Equal(768L << 20, config.Memory!.Size);
        Assert.Contains(launcher.Vmm.Requests, request => request.Endpoint == "vm.resize" && request.Body!.Contains("\"desired_vcpus\":4", StringComparison.Ordinal));
        var launched = VmSavedState.ParseLaunchSpec(await File.ReadAllTextAsync(launchSpecPath));
        Assert.Equal((4, 768), (launched.Cpus, launched.MemoryMiB));

        var shrunk = await manager.SetAsync("elastic", new VmSetOptions { Cpus = 1 }, dryRun: false, CancellationToken.None);

        Assert.Equal((1, 768), (shrunk.Cpus, shrunk.MemoryMiB));
        Assert.Equal(1, (await ConfigAsync()).Cpus!.BootVcpus);
        Assert.Equal(VmState.Running, (await manager.GetAsync("elastic", CancellationToken.None)).State);
    }

    [Fact]
    public async Task WhatCloudHypervisorRefusesLeavesTheRowAsItWas()
    {
        var refused = await Assert.ThrowsAsync<CloudHypervisorApiException>(
            () => manager.SetAsync("elastic", new VmSetOptions { Cpus = 6 }, dryRun: false, CancellationToken.None));

        Assert.Contains("Error resizing VM", refused.Message, StringComparison.Ordinal);
        var vm = await manager.GetAsync("elastic", CancellationToken.None);
        Assert.Equal((2, 512), (vm.Cpus, vm.MemoryMiB));
        Assert.Equal(2, (await ConfigAsync()).Cpus!.BootVcpus);
    }

    [Theory]
    [InlineData(384, VmPsErrorIds.VmResizeNeedsStop, "stop the VM first to give it 384 MiB")]
    [InlineData(600, VmPsErrorIds.VmMemoryHotplugStep, "ask for 640 MiB")]
    public async Task MemoryIsOnlyAddedInWholeBlocksAndTheErrorSaysWhatWorks(int memoryMiB, string errorId, string advice)
    {
        foreach (var dryRun in new[] { true, false })
        {
            var error = await Assert.ThrowsAsync<VmPsException>(
                () => manager.SetAsync("elastic", new VmSetOptions { MemoryMiB = memoryMiB }, dryRun, CancellationToken.None));

            Assert.Equal(errorId, error.ErrorId);
            Assert.Equal("elastic", error.Target);
            Assert.Contains(advice, error.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(launcher.Vmm.Requests, request => request.Endpoint == "vm.resize");
        Assert.Equal(512, (await manager.GetAsync("elastic", CancellationToken.None)).MemoryMiB);
    }

    private async Task<VmConfig> ConfigAsync()
    {
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        return (await api.GetVmInfoAsync(CancellationToken.None)).Config;
    }

    private static HostReport Report()
    {
        var cloudHypervisor = new HostTool("cloud-hypervisor", "/usr/bin/cloud-hypervisor", "53.0", HostToolCatalog.CloudHypervisor.Package);
        return new HostReport
        {
            Hypervisors = [new HypervisorAvailability(HypervisorKind.CloudHypervisor, cloudHypervisor, true, null)],
            Kvm = new KvmStatus(true, true, "the fake needs none"),
            QemuAccelerator = Accelerator.Tcg,
            DefaultKernel = null,
            Tools = [cloudHypervisor],
            StateDirectory = "/var/lib/vmps",
            Problems = [],
        };
    }
}
