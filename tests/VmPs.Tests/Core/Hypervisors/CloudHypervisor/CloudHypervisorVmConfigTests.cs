using System.Text.Json;
using System.Text.Json.Nodes;
using VmPs.Core.Hypervisors;
using VmPs.Core.Hypervisors.CloudHypervisor;

namespace VmPs.Tests.Core.Hypervisors.CloudHypervisor;

public sealed class CloudHypervisorVmConfigTests : IDisposable
{
    private readonly ChTestVm vm = new();

    public void Dispose() => vm.Dispose();

    /// <summary>The VmConfig CH must receive for <see cref="ChTestVm.Spec"/>, written out by hand from the OpenAPI schema.</summary>
    internal static JsonNode ExpectedVmConfig(ChTestVm vm) => new JsonObject
    {
        ["payload"] = new JsonObject
        {
            ["kernel"] = "/boot/vmlinuz-test",
            ["initramfs"] = "/var/cache/vmps/initrd-test.img",
            ["cmdline"] = "quiet vmps.config=vdc console=ttyS0 reboot=k panic=-1",
        },
        ["cpus"] = new JsonObject { ["boot_vcpus"] = 2, ["max_vcpus"] = 2 },
        ["memory"] = new JsonObject { ["size"] = 536_870_912 },
        ["disks"] = new JsonArray(
            new JsonObject { ["path"] = "/var/lib/vmps/images/busybox.erofs", ["readonly"] = true, ["image_type"] = "Raw", ["serial"] = "vmps-rootfs" },
            new JsonObject { ["path"] = vm.PathOf("overlay.ext4"), ["readonly"] = false, ["image_type"] = "Raw", ["serial"] = "vmps-overlay" },
            new JsonObject { ["path"] = vm.PathOf("data.qcow2"), ["readonly"] = false, ["image_type"] = "Qcow2", ["serial"] = "vmps-vol-data" }),
        ["rng"] = new JsonObject { ["src"] = "/dev/urandom" },
        ["pvpanic"] = true,
        ["vsock"] = new JsonObject { ["cid"] = 7, ["socket"] = vm.PathOf("vsock.sock") },
        ["serial"] = new JsonObject { ["mode"] = "File", ["file"] = vm.PathOf("console.out") },
        ["console"] = new JsonObject { ["mode"] = "Off" },
    };

    internal static void AssertSameJson(JsonNode expected, string actualJson)
    {
        var actual = JsonNode.Parse(actualJson);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"Expected {expected.ToJsonString()}{Environment.NewLine}but got  {actual?.ToJsonString()}");
    }

    [Fact]
    public void LaunchSpecBecomesCloudHypervisorVmConfigWithSnakeCaseNames()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec());

        var json = JsonSerializer.Serialize(config, CloudHypervisorJsonContext.Default.VmConfig);

        AssertSameJson(ExpectedVmConfig(vm), json);
    }

    /// <summary>CH has only virtio-blk disks: an ISO is refused rather than given to the guest as a writable-looking disk.</summary>
    [Fact]
    public void A_cd_rom_is_refused_by_name()
    {
        var spec = vm.Spec() with { Disks = [.. vm.Spec().Disks, new DiskSpec("/isos/a.iso", ReadOnly: true, "vmps-iso", CdRom: true)] };

        var error = Assert.Throws<VmPs.Core.VmPsException>(() => CloudHypervisorVmConfigBuilder.Build(spec));

        Assert.Equal(VmPs.Core.VmPsErrorIds.CdRomUnsupported, error.ErrorId);
        Assert.Equal("/isos/a.iso", error.Target);
    }

    [Fact]
    public void Shares_become_fs_devices_over_shared_memory_which_the_fake_like_CH_requires()
    {
        var spec = vm.Spec() with { Shares = [new ShareSpec("vmps-share0", "/srv/a", "/data", ReadOnly: false)] };

        var json = JsonSerializer.Serialize(CloudHypervisorVmConfigBuilder.Build(spec), CloudHypervisorJsonContext.Default.VmConfig);
        var config = JsonNode.Parse(json)!;

        Assert.True(config["memory"]!["shared"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(
            new JsonArray(new JsonObject { ["tag"] = "vmps-share0", ["socket"] = vm.PathOf("vmps-share0.sock"), ["num_queues"] = 1, ["queue_size"] = 1024 }),
            config["fs"]));
        Assert.Null(FakeCloudHypervisorConfigValidator.Validate(json, out _));
        config["memory"]!.AsObject().Remove("shared");
        Assert.Contains("shared memory", FakeCloudHypervisorConfigValidator.Validate(config.ToJsonString(), out _));
        config["memory"]!["shared"] = true;
        config["fs"]![0]!.AsObject().Remove("queue_size");
        Assert.Contains("queue_size", FakeCloudHypervisorConfigValidator.Validate(config.ToJsonString(), out _));
        Assert.Null(JsonNode.Parse(JsonSerializer.Serialize(CloudHypervisorVmConfigBuilder.Build(vm.Spec()), CloudHypervisorJsonContext.Default.VmConfig))!["fs"]);
    }

    [Fact]
    public void AnUncompressedVmlinuxIsBootedDirectlyInsteadOfTheBzImage()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec() with { VmlinuxPath = "/var/lib/vmps/kernels/k/vmlinux" });

        Assert.Equal("/var/lib/vmps/kernels/k/vmlinux", config.Payload.Kernel);
    }

    [Fact]
    public void RoomToGrowBecomesMaxVcpusAndWholeHotplugBlocksWhoseMemoryTheGuestOnlines()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec() with { MaxCpus = 8, MaxMemoryMiB = 512 + 300 });

        Assert.Equal(new CpusConfig(2, 8), config.Cpus);
        Assert.Equal(256L << 20, config.Memory!.HotplugSize);
        Assert.Equal($"quiet vmps.config=vdc memhp_default_state=online {CloudHypervisorVmConfigBuilder.ConsoleArguments}", config.Payload.Cmdline);

        var noRoom = CloudHypervisorVmConfigBuilder.Build(vm.Spec() with { MaxCpus = 1, MaxMemoryMiB = 512 + 100 });
        Assert.Equal(new CpusConfig(2, 2), noRoom.Cpus);
        Assert.Null(noRoom.Memory!.HotplugSize);
        Assert.DoesNotContain("memhp_default_state", noRoom.Payload.Cmdline, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyKernelArgumentsLeaveOnlyTheConsoleSettings()
    {
        var config = CloudHypervisorVmConfigBuilder.Build(vm.Spec(kernelArguments: "  "));

        Assert.Equal("console=ttyS0 reboot=k panic=-1", config.Payload.Cmdline);
    }

    [Fact]
    public void VmInfoFromCloudHypervisorIsRead()
    {
        const string info = """
            {"config":{"cpus":{"boot_vcpus":1,"max_vcpus":1},"memory":{"size":536870912,"mergeable":false},
             "payload":{"kernel":"/k","cmdline":"console=ttyS0"},"disks":[{"path":"/d","readonly":true,"image_type":"Raw","id":"_disk0"}],
             "serial":{"mode":"File","file":"/c"},"console":{"mode":"Off"},"iommu":false},
             "state":"Paused","memory_actual_size":536870912,"device_tree":{}}
            """;

        var parsed = JsonSerializer.Deserialize(info, CloudHypervisorJsonContext.Default.VmInfoResponse)!;

        Assert.Equal(CloudHypervisorVmState.Paused, parsed.State);
        Assert.Equal(536_870_912, parsed.MemoryActualSize);
        Assert.Equal("/k", parsed.Config.Payload.Kernel);
        Assert.Equal(DiskImageType.Raw, parsed.Config.Disks![0].ImageType);
        Assert.Equal(ConsoleMode.File, parsed.Config.Serial!.Mode);
    }

    [Fact]
    public void DiskFormatsMapOntoImageTypes()
    {
        var spec = vm.Spec(disks: [new DiskSpec("/a", true, "a"), new DiskSpec("/b", false, "b", DiskImageFormat.Qcow2)]);

        var disks = CloudHypervisorVmConfigBuilder.Build(spec).Disks!;

        Assert.Equal([DiskImageType.Raw, DiskImageType.Qcow2], disks.Select(d => d.ImageType!.Value));
    }
}
