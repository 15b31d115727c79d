using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Processes;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Hypervisors.Qemu;

/// <summary>The node blockdev-add opens a hot-plugged disk with, checked by QEMU itself (qemu-img --image-opts).</summary>
public sealed class QemuDiskHotplugTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("qemu-img")]
    public async Task A_disk_file_is_opened_by_the_file_driver()
    {
        var path = scratch.Combine("volume.img");
        await using (var file = File.Create(path))
        {
            file.SetLength(16 << 20);
        }

        var node = QemuDiskHotplug.FileNode(path);

        Assert.Equal("file", node["driver"]!.GetValue<string>());
        await AssertQemuOpensAsync(node["driver"]!.GetValue<string>(), path);
    }

    /// <summary>A thin volume is a block device; a loop device is one this machine can make without device-mapper.</summary>
    [RequiresRootAndProgramsFact("qemu-img", "losetup")]
    public async Task A_block_device_is_opened_by_the_host_device_driver_which_qemu_accepts()
    {
        var backing = scratch.Combine("backing.img");
        await using (var file = File.Create(backing))
        {
            file.SetLength(16 << 20);
        }

        var device = (await ExternalTool.RunCheckedAsync("losetup", ["--find", "--show", backing], CancellationToken.None)).StandardOutput.Trim();
        try
        {
            var node = QemuDiskHotplug.FileNode(device);

            Assert.Equal("host_device", node["driver"]!.GetValue<string>());
            Assert.Equal(device, node["filename"]!.GetValue<string>());
            await AssertQemuOpensAsync(node["driver"]!.GetValue<string>(), device);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("losetup", ["--detach", device], CancellationToken.None);
        }
    }

    private static async Task AssertQemuOpensAsync(string driver, string path)
    {
        var result = await ExternalTool.RunAsync("qemu-img", ["info", "--image-opts", $"driver=raw,file.driver={driver},file.filename={path}"], CancellationToken.None);
        Assert.True(result.ExitCode == 0, result.StandardError);
    }
}
