using VmPs.Core.Storage.LvmThin;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage.LvmThin;

/// <summary>The device-mapper probe, over a directory laid out as a host's /dev, /sys and /proc.</summary>
public sealed class DeviceMapperTests : IDisposable
{
    private readonly ScratchDirectory root = new();

    public void Dispose() => root.Dispose();

    [Fact]
    public void A_host_without_the_driver_shows_none_of_its_traces()
    {
        Write("proc/misc", "234 btrfs-control\n237 loop-control\n229 fuse\n");

        var status = DeviceMapper.Probe(root.Path);

        Assert.Equal(new DeviceMapperStatus(false, false, false), status);
        Assert.False(status.Available);
    }

    [Fact]
    public void The_driver_with_its_control_node_is_available_as_sysfs_or_proc_misc_shows_it()
    {
        Write("dev/mapper/control", "");
        Write("proc/misc", "237 loop-control\n236 device-mapper\n");

        Assert.Equal(new DeviceMapperStatus(true, false, true), DeviceMapper.Probe(root.Path));
        Assert.True(DeviceMapper.Probe(root.Path).Available);

        Directory.CreateDirectory(root.Combine("sys/class/misc/device-mapper"));
        File.Delete(root.Combine("proc/misc"));
        Assert.Equal(new DeviceMapperStatus(true, true, false), DeviceMapper.Probe(root.Path));
        Assert.True(DeviceMapper.Probe(root.Path).Available);
    }

    [Fact]
    public void A_similar_name_in_proc_misc_is_not_the_driver()
    {
        Write("dev/mapper/control", "");
        Write("proc/misc", "240 device-mapper-ish\n");

        Assert.False(DeviceMapper.Probe(root.Path).Available);
    }

    private void Write(string relative, string content)
    {
        var path = root.Combine(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
