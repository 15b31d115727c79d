using System.Text;
using System.Text.Json.Nodes;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;
using VmPs.Core.Logs;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Core.Volumes;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

/// <summary>
/// Restoring one CH snapshot as other VMs (forks), through the driver against the fake CH. What the fake verifies: the
/// vm.restore request (on-demand memory, no prefault, the fork's own private directory), the configuration CH restores
/// the VM with (every disk, TAP, MAC, vsock CID and socket and console file the fork's, none of the source's), that
/// the memory file CH opens is the checkpoint's own inode, that each fork's agent channel is its own socket, and
/// what CH refuses. It cannot run a guest: the guest side of a fork (hostname, machine-id, MAC, RNG, clock, set by the
/// agent after every restore) is VmBoot's and is tested with QEMU (ForkVmTests).
/// </summary>
public sealed class CloudHypervisorForkTests : IAsyncLifetime
{
    private const string RootFs = "/var/lib/vmps/images/busybox.erofs";

    private readonly ChTestVm source = new();
    private readonly ChTestVm fork1 = new();
    private readonly ChTestVm fork2 = new();
    private readonly FakeCloudHypervisorLauncher launcher = new(new FakeCloudHypervisorOptions
    {
        GuestServices = new Dictionary<uint, FakeGuestService> { [AgentEndpoint.DefaultPort] = FakeGuestServices.Echo },
    });

    private string checkpoint = null!;

    public async Task InitializeAsync()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var instance = await driver.LaunchAsync(Spec(source, "origin", 3, "52:54:00:00:00:03"), CancellationToken.None);
        checkpoint = Directory.CreateDirectory(source.PathOf("checkpoints/cp1/state")).FullName;
        await driver.SaveStateAsync(instance, checkpoint, CancellationToken.None);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await launcher.DisposeAsync();
        foreach (var vm in new[] { source, fork1, fork2 })
        {
            vm.Dispose();
        }
    }

    [Fact]
    public async Task Two_forks_restore_side_by_side_each_as_itself_from_the_one_memory_file()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var forks = new[] { (Vm: fork1, Spec: Spec(fork1, "fork1", 4, "52:54:00:00:00:04")), (Vm: fork2, Spec: Spec(fork2, "fork2", 5, "52:54:00:00:00:05")) };
        var instances = new List<HypervisorInstance>();
        var vmms = new List<FakeCloudHypervisor>();
        foreach (var (vm, spec) in forks)
        {
            instances.Add(await driver.RestoreAsync(spec, LinkSavedState(vm), Task.CompletedTask, CancellationToken.None));
            vmms.Add(launcher.Vmm);
        }

        var memoryInode = UnixFileType.Inode(Path.Combine(checkpoint, "memory-ranges"));
        for (var index = 0; index < forks.Length; index++)
        {
            var (vm, spec) = forks[index];
            var vmm = vmms[index];
            Assert.Equal("Running", vmm.VmState);
            var restore = JsonNode.Parse(vmm.Requests.Single(request => request.Endpoint == "vm.restore").Body!)!;
            Assert.Equal("file://" + vm.PathOf("ch-restore"), restore["source_url"]!.GetValue<string>());
            Assert.Equal("OnDemand", restore["memory_restore_mode"]!.GetValue<string>());
            Assert.False(restore["prefault"]!.GetValue<bool>());
            Assert.Equal(memoryInode, vmm.Restored!.MemoryFileInode);
            Assert.Equal(Convert.ToInt32("700", 8), vmm.Restored.DirectoryMode);
            Assert.Equal(Convert.ToInt32("600", 8), vmm.Restored.ConfigMode);
            Assert.False(Directory.Exists(vm.PathOf("ch-restore")));

            using var api = new CloudHypervisorApiClient(instances[index].ControlSocketPath);
            var config = (await api.GetVmInfoAsync(CancellationToken.None)).Config;
            Assert.Equal([RootFs, vm.PathOf("overlay.ext4"), vm.PathOf("config.ext4")], config.Disks!.Select(disk => disk.Path));
            Assert.Equal([true, false, true], config.Disks!.Select(disk => disk.Readonly == true));
            var adapter = Assert.Single(config.Net!);
            Assert.Equal((spec.NetworkInterfaces[0].Tap, spec.NetworkInterfaces[0].MacAddress), (adapter.Tap, adapter.Mac));
            Assert.Equal(new VsockConfig(spec.VsockCid, vm.PathOf("vsock.sock")), config.Vsock);
            Assert.Equal(VmLogKeeper.PipeOf(spec.ConsoleLogPath), config.Serial!.File);
            Assert.Equal(VmLogKeeper.PipeOf(spec.AppLogPath!), config.Console!.File);
            Assert.DoesNotContain(source.Directory, vmm.Requests.Single(request => request.Endpoint == "vm.restore").Body!, StringComparison.Ordinal);
            Assert.DoesNotContain(source.Directory, System.Text.Json.JsonSerializer.Serialize(config, CloudHypervisorJsonContext.Default.VmConfig), StringComparison.Ordinal);

            // The fork holds the checkpoint's memory as a second name of its file, never a copy.
            Assert.Equal(memoryInode, UnixFileType.Inode(vm.PathOf("saved/memory-ranges")));
            var memoryBytes = new FileInfo(Path.Combine(checkpoint, "memory-ranges")).Length;
            Assert.DoesNotContain(Directory.EnumerateFiles(vm.Directory, "*", SearchOption.AllDirectories), file => new FileInfo(file).Length == memoryBytes && UnixFileType.Inode(file) != memoryInode);

            await using var agent = await new HybridVsockConnector(instances[index].Agent.SocketPath!, instances[index].Agent.Port).ConnectAsync(CancellationToken.None);
            await agent.WriteAsync(Encoding.ASCII.GetBytes(spec.VmName));
            var echoed = new byte[spec.VmName.Length];
            await agent.ReadExactlyAsync(echoed);
            Assert.Equal(spec.VmName, Encoding.ASCII.GetString(echoed));
        }

        Assert.Equal(vmms[0].GuestMemory, vmms[1].GuestMemory);
        foreach (var instance in instances)
        {
            await driver.KillAsync(instance, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Paths_and_identity_in_the_snapshot_are_never_used()
    {
        Tamper(config =>
        {
            config["disks"]![0]!["readonly"] = false;
            config["disks"]![1]!["path"] = "/etc/passwd";
            config["disks"]![1]!["image_type"] = "Qcow2";
            config["disks"]![2]!["vhost_user"] = true;
            config["disks"]![2]!["vhost_socket"] = "/run/evil.sock";
            config["net"]![0]!["ip"] = "10.99.0.1";
            config["net"]![0]!["mask"] = "255.255.255.0";
            config["vsock"]!["socket"] = "/tmp/evil-vsock.sock";
            config["rng"]!["src"] = "/dev/sda";
            config["serial"]!["file"] = "/etc/shadow";
            config["payload"]!["igvm"] = "/etc/shadow";
        });
        var driver = new CloudHypervisorDriver(launcher);
        var spec = Spec(fork1, "fork1", 4, "52:54:00:00:00:04");

        var instance = await driver.RestoreAsync(spec, LinkSavedState(fork1), Task.CompletedTask, CancellationToken.None);

        var saved = File.ReadAllText(Path.Combine(checkpoint, "config.json"));
        using var api = new CloudHypervisorApiClient(instance.ControlSocketPath);
        var config = (await api.GetVmInfoAsync(CancellationToken.None)).Config;
        var text = System.Text.Json.JsonSerializer.Serialize(config, CloudHypervisorJsonContext.Default.VmConfig);
        foreach (var planted in new[] { "/etc/passwd", "/etc/shadow", "/run/evil.sock", "/tmp/evil-vsock.sock", "/dev/sda", "10.99.0.1" })
        {
            Assert.Contains(planted, saved, StringComparison.Ordinal);
            Assert.DoesNotContain(planted, text, StringComparison.Ordinal);
        }

        Assert.Equal([true, false, true], config.Disks!.Select(disk => disk.Readonly == true));
        Assert.Equal([DiskImageType.Raw, DiskImageType.Raw, DiskImageType.Raw], config.Disks!.Select(disk => disk.ImageType));
        await driver.KillAsync(instance, CancellationToken.None);
    }

    public static TheoryData<string> Tamperings => new()
    {
        "pmem",
        "vfio",
        "memory zone file",
        "debug console file",
        "a disk less",
        "not JSON",
        "too large",
        "config is a link",
        "memory is a link",
        "state is missing",
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task A_tampered_snapshot_is_refused_before_anything_starts(string tampering)
    {
        var config = Path.Combine(checkpoint, "config.json");
        switch (tampering)
        {
            case "pmem":
                Tamper(json => json["pmem"] = new JsonArray(new JsonObject { ["file"] = "/etc/shadow" }));
                break;
            case "vfio":
                Tamper(json => json["devices"] = new JsonArray(new JsonObject { ["path"] = "/sys/bus/pci/devices/0000:00:01.0" }));
                break;
            case "memory zone file":
                Tamper(json => json["memory"]!["zones"] = new JsonArray(new JsonObject { ["id"] = "z", ["size"] = 1, ["file"] = "/etc/shadow" }));
                break;
            case "debug console file":
                Tamper(json => json["debug_console"] = new JsonObject { ["mode"] = "File", ["file"] = "/etc/shadow" });
                break;
            case "a disk less":
                Tamper(json => ((JsonArray)json["disks"]!).RemoveAt(2));
                break;
            case "not JSON":
                File.WriteAllText(config, "{\"payload\":");
                break;
            case "too large":
                File.WriteAllText(config, "{\"payload\":{}," + new string(' ', 2 << 20) + "}");
                break;
            case "config is a link":
                File.Move(config, config + ".real");
                File.CreateSymbolicLink(config, config + ".real");
                break;
            case "memory is a link":
                var memory = Path.Combine(checkpoint, "memory-ranges");
                File.Move(memory, source.PathOf("elsewhere"));
                File.CreateSymbolicLink(memory, source.PathOf("elsewhere"));
                break;
            case "state is missing":
                File.Delete(Path.Combine(checkpoint, "state.json"));
                break;
        }

        var launches = launcher.Launches;
        var driver = new CloudHypervisorDriver(launcher);

        var error = await Assert.ThrowsAsync<VmPsException>(() => driver.RestoreAsync(Spec(fork1, "fork1", 4, "52:54:00:00:00:04"), LinkSavedState(fork1), Task.CompletedTask, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.SavedStateInvalid, error.ErrorId);
        Assert.Equal("fork1", error.Target);
        Assert.Contains("Start-Vm fork1 -Force", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(launches, launcher.Launches);
        Assert.False(Directory.Exists(fork1.PathOf("ch-restore")));
    }

    [Fact]
    public async Task Cloud_hypervisor_starts_while_the_state_is_verified_and_restores_nothing_when_it_fails()
    {
        var driver = new CloudHypervisorDriver(launcher);
        var launches = launcher.Launches;
        var verification = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var restoring = driver.RestoreAsync(Spec(fork1, "fork1", 4, "52:54:00:00:00:04"), LinkSavedState(fork1), verification.Task, CancellationToken.None);
        bool Pinged() => launcher.Launches > launches && launcher.Vmm.Requests.Any(request => request.Endpoint == "vmm.ping");
        for (var attempt = 0; attempt < 500 && !Pinged(); attempt++)
        {
            await Task.Delay(20);
        }

        Assert.True(Pinged(), "CH was not started while the state was verified");
        Assert.False(restoring.IsCompleted);
        Assert.DoesNotContain(launcher.Vmm.Requests, request => request.Endpoint == "vm.restore");
        verification.SetException(VmPs.Core.Vms.VmSavedState.Invalid("fork1", "its file 'memory-ranges' does not match its SHA-256 digest"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => restoring);
        Assert.Equal((VmPsErrorIds.SavedStateInvalid, "fork1"), (error.ErrorId, error.Target));
        Assert.DoesNotContain(launcher.Vmm.Requests, request => request.Endpoint == "vm.restore");
        Assert.False(ProcessProbe.IsRunning(launcher.Vmm.Process));
        Assert.False(File.Exists(fork1.PathOf("ch.sock")));
        Assert.False(Directory.Exists(fork1.PathOf("ch-restore")));
    }

    [Fact]
    public async Task A_truncated_memory_file_is_refused_by_cloud_hypervisor_and_nothing_is_left()
    {
        await using (var memory = new FileStream(Path.Combine(checkpoint, "memory-ranges"), FileMode.Open, FileAccess.Write))
        {
            memory.SetLength(memory.Length - 4096);
        }

        var driver = new CloudHypervisorDriver(launcher);

        var error = await Assert.ThrowsAsync<CloudHypervisorApiException>(() => driver.RestoreAsync(Spec(fork1, "fork1", 4, "52:54:00:00:00:04"), LinkSavedState(fork1), Task.CompletedTask, CancellationToken.None));

        Assert.Equal(["Error from API", "The VM could not be restored"], error.Messages.Take(2));
        Assert.False(ProcessProbe.IsRunning(launcher.Vmm.Process));
        Assert.False(File.Exists(fork1.PathOf("ch.sock")));
        Assert.False(Directory.Exists(fork1.PathOf("ch-restore")));
    }

    [Fact]
    public async Task Cloud_hypervisor_before_52_is_asked_for_its_only_memory_restore()
    {
        await using var old = new FakeCloudHypervisorLauncher(new FakeCloudHypervisorOptions { MajorVersion = 51 });
        var driver = new CloudHypervisorDriver(old);

        var instance = await driver.RestoreAsync(Spec(fork1, "fork1", 4, "52:54:00:00:00:04"), LinkSavedState(fork1), Task.CompletedTask, CancellationToken.None);

        var restore = JsonNode.Parse(old.Vmm.Requests.Single(request => request.Endpoint == "vm.restore").Body!)!.AsObject();
        Assert.False(restore.ContainsKey("memory_restore_mode"));
        Assert.Equal("Copy", old.Vmm.Restored!.MemoryRestoreMode);
        Assert.Equal("Running", old.Vmm.VmState);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    [Fact]
    public async Task Without_userfaultfd_the_memory_is_copied_in()
    {
        await using var noUffd = new FakeCloudHypervisorLauncher(new FakeCloudHypervisorOptions { UserfaultfdUnavailable = true });
        var driver = new CloudHypervisorDriver(noUffd);

        var instance = await driver.RestoreAsync(Spec(fork1, "fork1", 4, "52:54:00:00:00:04"), LinkSavedState(fork1), Task.CompletedTask, CancellationToken.None);

        Assert.Equal(
            ["OnDemand", "Copy"],
            noUffd.Vmm.Requests.Where(request => request.Endpoint == "vm.restore").Select(request => JsonNode.Parse(request.Body!)!["memory_restore_mode"]!.GetValue<string>()));
        Assert.Equal("Copy", noUffd.Vmm.Restored!.MemoryRestoreMode);
        Assert.Equal("Running", noUffd.Vmm.VmState);
        await driver.KillAsync(instance, CancellationToken.None);
    }

    /// <summary>The fork's saved state as a fork gets it from a checkpoint: hard links of the state files.</summary>
    private string LinkSavedState(ChTestVm vm)
    {
        var saved = Directory.CreateDirectory(vm.PathOf("saved")).FullName;
        foreach (var file in Directory.EnumerateFileSystemEntries(checkpoint))
        {
            var link = Path.Combine(saved, Path.GetFileName(file));
            if (!File.Exists(link) && !Directory.Exists(link))
            {
                VolumeFiles.HardLink(file, link);
            }
        }

        return saved;
    }

    private void Tamper(Action<JsonObject> change)
    {
        var path = Path.Combine(checkpoint, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        change(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    private static VmLaunchSpec Spec(ChTestVm vm, string name, uint cid, string mac) => vm.Spec() with
    {
        VmName = name,
        Disks =
        [
            new DiskSpec(RootFs, ReadOnly: true, Serial: "vmps-rootfs"),
            new DiskSpec(vm.PathOf("overlay.ext4"), ReadOnly: false, Serial: "vmps-overlay"),
            new DiskSpec(vm.PathOf("config.ext4"), ReadOnly: true, Serial: "vmps-config"),
        ],
        AppLogPath = vm.PathOf("app.log"),
        VsockCid = cid,
        NetworkInterfaces = [new NetworkInterfaceSpec($"vmps-{name}", mac, 1500)],
    };
}
