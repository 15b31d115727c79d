using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Images;
using VmPs.Core.Processes;
using VmPs.Core.Shares;
using VmPs.Core.Vms;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>The driver against the fake CH (through the launcher seam) and against real short-lived processes.</summary>
public sealed class CloudHypervisorDriverTests : IAsyncLifetime
{
    // Bounds waits so a broken fake fails the test instead of hanging it; not a speed assertion.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly ChTestVm vm = new();
    private readonly List<FakeCloudHypervisorLauncher> launchers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var launcher in launchers)
        {
            await launcher.DisposeAsync();
        }

        vm.Dispose();
    }

    [Fact]
    public async Task LaunchCreatesAndBootsTheVmThenThePowerButtonEndsIt()
    {
        var launcher = Fake(new FakeCloudHypervisorOptions
        {
            GuestServices = new Dictionary<uint, FakeGuestService> { [AgentEndpoint.DefaultPort] = FakeGuestServices.Echo },
        });
        var driver = new CloudHypervisorDriver(launcher);

        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        Assert.Equal(HypervisorKind.CloudHypervisor, instance.Kind);
        Assert.Equal(vm.PathOf("ch.sock"), instance.ControlSocketPath);
        Assert.Equal(AgentEndpoint.Hybrid(vm.PathOf("vsock.sock"), 1024), instance.Agent);
        Assert.True(ProcessProbe.IsRunning(instance.Process));
        var fake = launcher.Vmm;
        Assert.Equal(instance.Process, fake.Process);
        Assert.Equal(
            new CloudHypervisorLaunch(CloudHypervisorVmFiles.In(vm.Directory), vm.PathOf("hypervisor.out"), vm.Directory, vm.PathOf("hypervisor.pid")),
            launcher.LastLaunch);

        var requests = fake.Requests;
        Assert.Equal(["vm.create", "vm.boot"], requests.SkipWhile(r => r.Endpoint == "vmm.ping").Select(r => r.Endpoint));
        Assert.Contains(requests, r => r is { Method: "GET", Endpoint: "vmm.ping" });
        CloudHypervisorVmConfigTests.AssertSameJson(CloudHypervisorVmConfigTests.ExpectedVmConfig(vm), requests.Single(r => r.Endpoint == "vm.create").Body!);
        Assert.Equal("Running", fake.VmState);

        using (var api = new CloudHypervisorApiClient(instance.ControlSocketPath))
        {
            Assert.Equal(CloudHypervisorVmState.Running, (await api.GetVmInfoAsync(CancellationToken.None)).State);
        }

        await using (var agent = await new HybridVsockConnector(instance.Agent.SocketPath!, instance.Agent.Port).ConnectAsync(CancellationToken.None))
        {
            await agent.WriteAsync("hello guest"u8.ToArray());
            var echoed = new byte[11];
            await agent.ReadExactlyAsync(echoed);
            Assert.Equal("hello guest", Encoding.ASCII.GetString(echoed));
        }

        await driver.PressPowerButtonAsync(instance, CancellationToken.None);
        await fake.Exited.WaitAsync(Patience);

        Assert.False(ProcessProbe.IsRunning(instance.Process));
        var monitor = new CloudHypervisorEventMonitor(vm.PathOf("events.json"));
        await monitor.ReadNewAsync(CancellationToken.None);
        Assert.Equal(
            ["vmm/starting", "vm/booting", "vm/booted", "vm/shutdown", "vm/deleted", "vmm/shutdown"],
            monitor.Events.Select(e => $"{e.Source}/{e.Event}"));

        // Killing a VMM that already exited is not an error and cleans up its sockets; it asked nothing of the VMM.
        await driver.KillAsync(instance, CancellationToken.None);
        Assert.True(CloudHypervisorEventMonitor.ReadExit(vm.Directory).GuestPoweredOff);
        Assert.False(File.Exists(instance.ControlSocketPath));
        Assert.False(File.Exists(instance.Agent.SocketPath));
    }

    [Fact]
    public async Task A_disk_image_boots_through_the_firmware_payload_alone()
    {
        var launcher = Fake();
        var driver = new CloudHypervisorDriver(launcher);
        var spec = vm.Spec() with
        {
            KernelPath = null,
            InitrdPath = null,
            KernelArguments = "",
            Firmware = new FirmwareSpec(ImageFirmware.Uefi, "/opt/ch/CLOUDHV.fd", null),
            Disks = [new DiskSpec(vm.PathOf("disk.qcow2"), ReadOnly: false, "vmps-disk", DiskImageFormat.Qcow2)],
        };

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);

        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var info = await api.GetVmInfoAsync(CancellationToken.None);
        Assert.Equal(new PayloadConfig { Firmware = "/opt/ch/CLOUDHV.fd" }, info.Config.Payload);
        Assert.Equal(CloudHypervisorVmState.Running, info.State);
        var bios = spec with { Firmware = new FirmwareSpec(ImageFirmware.Bios, "/usr/share/seabios/bios-256k.bin", null) };
        Assert.Equal(VmPsErrorIds.DiskImageVmUnsupported, Assert.Throws<VmPsException>(() => CloudHypervisorVmConfigBuilder.Build(bios)).ErrorId);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    [Fact]
    public async Task DisksAreHotPluggedWithTheirSerialAndUnpluggedById()
    {
        var launcher = Fake();
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        await driver.AttachDiskAsync(instance, "vmps-v0123", new DiskSpec(vm.PathOf("data.qcow2"), ReadOnly: true, "vmps-v0123", DiskImageFormat.Qcow2), CancellationToken.None);
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var plugged = Assert.Single((await api.GetVmInfoAsync(CancellationToken.None)).Config.Disks!, disk => disk.Id == "vmps-v0123");
        Assert.Equal(new DiskConfig { Path = vm.PathOf("data.qcow2"), Readonly = true, Serial = "vmps-v0123", Id = "vmps-v0123", ImageType = DiskImageType.Qcow2 }, plugged);

        await driver.DetachDiskAsync(instance, "vmps-v0123", CancellationToken.None);
        await driver.DetachDiskAsync(instance, "vmps-v0123", CancellationToken.None);

        Assert.DoesNotContain((await api.GetVmInfoAsync(CancellationToken.None)).Config.Disks!, disk => disk.Id == "vmps-v0123");
        Assert.Single(launcher.Vmm.Requests, request => request.Endpoint == "vm.remove-device" && request.Body!.Contains("\"id\":\"vmps-v0123\"", StringComparison.Ordinal));
        var unknown = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => api.RemoveDeviceAsync("missing", CancellationToken.None));
        Assert.Equal(HttpStatusCode.InternalServerError, unknown.StatusCode);
    }

    [Fact]
    public async Task DiskCountersAreTheDisksReadAndWriteBytesOfVmCountersWithoutTheNetworkDevices()
    {
        var launcher = Fake(new FakeCloudHypervisorOptions { DeviceTraffic = (Read: 40960, Written: 8192) });
        var driver = new CloudHypervisorDriver(launcher);
        var spec = vm.Spec() with { NetworkInterfaces = [new NetworkInterfaceSpec("vmpstap0", "52:54:00:12:34:56", 1500)] };
        var instance = await driver.LaunchAsync(spec, CancellationToken.None);

        var counters = await driver.ReadDiskCountersAsync(instance, CancellationToken.None);

        Assert.Equal(new VmPs.Core.Metering.DiskCounters(3 * 40960, 3 * 8192), counters);
        Assert.Contains(launcher.Vmm.Requests, request => request is { Method: "GET", Endpoint: "vm.counters" });
    }

    [Fact]
    public async Task KillShutsTheVmAndTheVmmDownThroughTheApi()
    {
        var launcher = Fake();
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        await driver.KillAsync(instance, CancellationToken.None);

        Assert.False(ProcessProbe.IsRunning(instance.Process));
        Assert.Equal(["vm.shutdown", "vmm.shutdown"], launcher.Vmm.Requests.SkipWhile(r => r.Endpoint != "vm.shutdown").Select(r => r.Endpoint));
        Assert.False(File.Exists(instance.ControlSocketPath));
        Assert.False(File.Exists(instance.Agent.SocketPath));
    }

    [Fact]
    public async Task A_share_gets_its_virtiofsd_before_the_VMM_which_CH_is_given_as_an_fs_device_and_the_kill_ends_it()
    {
        var shared = Directory.CreateDirectory(vm.PathOf("shared")).FullName;
        var launcher = Fake();
        var driver = new CloudHypervisorDriver(launcher);
        var spec = vm.Spec() with { Shares = [new ShareSpec("vmps-share0", shared, "/data", ReadOnly: false)] };

        var instance = await driver.LaunchAsync(spec, CancellationToken.None);
        var socket = vm.PathOf("vmps-share0.sock");
        var daemon = PidFile.Read(vm.PathOf("vmps-share0.virtiofsd.pid"));

        var create = JsonNode.Parse(launcher.Vmm.Requests.Single(r => r.Endpoint == "vm.create").Body!)!;
        Assert.Equal(socket, create["fs"]![0]!["socket"]!.GetValue<string>());
        Assert.True(create["memory"]!["shared"]!.GetValue<bool>());
        Assert.True(daemon is { } running && ProcessProbe.IsDetachedFor(running, vm.Directory), "no virtiofsd serves the share");
        Assert.True(File.Exists(socket));

        await driver.KillAsync(instance, CancellationToken.None);

        Assert.False(ProcessProbe.IsRunning(daemon!.Value));
        Assert.False(File.Exists(socket));
        Assert.False(File.Exists(vm.PathOf("vmps-share0.virtiofsd.pid")));
    }

    [Fact]
    public async Task KillSigkillsAVmmThatDoesNotExitAfterShutdown()
    {
        var launcher = Fake(new FakeCloudHypervisorOptions { ExitsOnVmmShutdown = false });
        var driver = new CloudHypervisorDriver(launcher, new CloudHypervisorDriverOptions { ExitTimeout = TimeSpan.FromMilliseconds(200) });
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        await driver.KillAsync(instance, CancellationToken.None);

        Assert.Contains(launcher.Vmm.Requests, r => r.Endpoint == "vmm.shutdown");
        Assert.False(ProcessProbe.IsRunning(instance.Process));
    }

    [Fact]
    public async Task PowerButtonOnAStoppedVmSurfacesCloudHypervisorsError()
    {
        var launcher = Fake(new FakeCloudHypervisorOptions { GuestPowersOffOnPowerButton = false });
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);
        using (var api = new CloudHypervisorApiClient(instance.ControlSocketPath))
        {
            await api.ShutdownVmAsync(CancellationToken.None);
        }

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => driver.PressPowerButtonAsync(instance, CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("vm.power-button", error.Operation);
        Assert.Contains("VM is not running", error.Message);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    [Fact]
    public async Task BootFailureCarriesCloudHypervisorsErrorChainAndLeavesNothingRunning()
    {
        string[] cause = ["Error locking disk images: Another instance likely holds a lock", "The file is already locked"];
        var launcher = Fake(new FakeCloudHypervisorOptions { BootFailure = cause });
        var driver = new CloudHypervisorDriver(launcher);

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => driver.LaunchAsync(vm.Spec(), CancellationToken.None));

        Assert.Equal(CloudHypervisorApiException.RequestFailedErrorId, error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidOperation, error.Kind);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(["Error from API", "The VM could not boot", .. cause], error.Messages);
        Assert.Contains("The VM could not boot: Error locking disk images: Another instance likely holds a lock", error.Message);
        Assert.False(ProcessProbe.IsRunning(launcher.Vmm.Process));
        Assert.Equal("vmm.shutdown", launcher.Vmm.Requests[^1].Endpoint);
        Assert.False(File.Exists(vm.PathOf("ch.sock")));
    }

    [Fact]
    public async Task ProcessThatDiesBeforeItsApiAnswersIsReportedWithItsLog()
    {
        // A real process in place of cloud-hypervisor: it prints its arguments and a CH-style error chain, then exits.
        var fakeBinary = WriteScript("cloud-hypervisor", """
            echo "args: $*" >&2
            echo "Error: Cloud Hypervisor exited with the following chain of errors:" >&2
            echo "  0: Error creating API server" >&2
            exit 1
            """);
        var driver = new CloudHypervisorDriver(new CloudHypervisorProcessLauncher(fakeBinary));

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(vm.Spec(), CancellationToken.None));

        Assert.Equal(CloudHypervisorDriver.ExitedErrorId, error.ErrorId);
        Assert.Contains("0: Error creating API server", error.Message);
        Assert.Contains($"args: --api-socket path={vm.PathOf("ch.sock")} --event-monitor path={vm.PathOf("events.json")}", error.Message);
        Assert.Equal("web", error.Target);
        Assert.Empty(ProcessesWorkingIn(vm.Directory));
    }

    [Fact]
    public async Task ProcessWhoseApiNeverAnswersIsKilledAfterTheTimeout()
    {
        var fakeBinary = WriteScript("cloud-hypervisor", "exec sleep 60");
        var driver = new CloudHypervisorDriver(
            new CloudHypervisorProcessLauncher(fakeBinary),
            new CloudHypervisorDriverOptions { ApiStartTimeout = TimeSpan.FromMilliseconds(300) });

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(vm.Spec(), CancellationToken.None));

        Assert.Equal(CloudHypervisorDriver.ApiTimeoutErrorId, error.ErrorId);
        Assert.Equal(VmPsErrorKind.OperationTimeout, error.Kind);
        Assert.Empty(ProcessesWorkingIn(vm.Directory));
    }

    [Fact]
    public async Task MissingBinaryIsReportedAsNotInstalled()
    {
        var driver = new CloudHypervisorDriver(new CloudHypervisorProcessLauncher("vmps-test-no-such-cloud-hypervisor"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.LaunchAsync(vm.Spec(), CancellationToken.None));

        Assert.Equal("ExecutableNotFound", error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
    }

    [Fact]
    public void CapabilitiesAreThoseOfCloudHypervisorsApi()
    {
        var driver = new CloudHypervisorDriver();

        Assert.Equal(HypervisorKind.CloudHypervisor, driver.Kind);
        Assert.Equal("Cloud Hypervisor", driver.Capabilities.Driver);
        Assert.True(driver.Capabilities.Supports(
            HypervisorFeatures.Vsock | HypervisorFeatures.DiskHotplug | HypervisorFeatures.NicHotplug
            | HypervisorFeatures.Qcow2Disks | HypervisorFeatures.DiskResize | HypervisorFeatures.Pause | HypervisorFeatures.Snapshot
            | HypervisorFeatures.LazyRestore | HypervisorFeatures.CpuResize | HypervisorFeatures.MemoryResize | HypervisorFeatures.Uefi
            | HypervisorFeatures.PvhKernel));
        Assert.Equal(HypervisorFeatures.Bios | HypervisorFeatures.CdRom, driver.Capabilities.Missing(HypervisorFeatures.Bios | HypervisorFeatures.CdRom | HypervisorFeatures.Uefi));
        Assert.False(driver.Capabilities.Supports(HypervisorFeatures.LiveDiskSnapshot));
        Assert.True(driver.Capabilities.Supports(HypervisorFeatures.VirtioFs));
    }

    [Fact]
    public async Task MovingARunningDiskOntoANewFileIsRefusedWithTheCapabilityErrorAndTheVmKeepsItsDisk()
    {
        var launcher = Fake();
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var disks = (await api.GetVmInfoAsync(CancellationToken.None)).Config.Disks!;

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.SnapshotDiskAsync(instance, 1, vm.PathOf("disk-next.qcow2"), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.HypervisorFeatureNotSupported, error.ErrorId);
        Assert.Contains("Taking a running VM's disk onto a new qcow2 file is not supported by Cloud Hypervisor", error.Message, StringComparison.Ordinal);
        Assert.Equal(disks, (await api.GetVmInfoAsync(CancellationToken.None)).Config.Disks!);
    }

    /// <summary>Its serial port stays a file (the console log), so Enter-Vm -Console is refused by name.</summary>
    [Fact]
    public async Task AttachingToTheSerialConsoleIsRefusedWithTheCapabilityError()
    {
        var driver = new CloudHypervisorDriver(Fake());
        var instance = await driver.LaunchAsync(vm.Spec(), CancellationToken.None);

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.ConnectConsoleAsync(instance, CancellationToken.None));

        Assert.False(driver.Capabilities.Supports(HypervisorFeatures.SerialConsole));
        Assert.Equal(VmPsErrorIds.HypervisorFeatureNotSupported, error.ErrorId);
        Assert.Contains("Attaching to the serial console is not supported by Cloud Hypervisor", error.Message, StringComparison.Ordinal);
    }

    private FakeCloudHypervisorLauncher Fake(FakeCloudHypervisorOptions? options = null)
    {
        var launcher = new FakeCloudHypervisorLauncher(options);
        launchers.Add(launcher);
        return launcher;
    }

    /// <summary>Live processes whose working directory is <paramref name="directory"/>: the driver starts CH there.</summary>
    private static List<int> ProcessesWorkingIn(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && TryReadLink(Path.Combine(entry, "cwd")) == directory
                && ProcessProbe.IsRunning(new ProcessIdentity(pid, 0)))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    private static string? TryReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string WriteScript(string name, string body)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("VmPs runs on Linux hosts.");
        }

        var path = vm.PathOf(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
