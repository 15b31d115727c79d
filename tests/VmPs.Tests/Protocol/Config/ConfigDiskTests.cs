using System.Buffers.Binary;
using System.Text;
using VmPs.Protocol.Config;

namespace VmPs.Tests.Protocol.Config;

public class ConfigDiskTests
{
    private static readonly GuestConfig Sample = new()
    {
        VmName = "web",
        Hostname = "web.local",
        Command = ["/bin/sh", "-c", "echo 'hi there'"],
        Environment = ["PATH=/usr/bin:/bin", "GREETING=a=b"],
        WorkingDirectory = "/srv",
        User = "nobody:nogroup",
        InitMode = InitMode.Systemd,
        AgentChannel = new AgentChannelConfig { Kind = AgentChannelKind.Vsock, VsockPort = 2048 },
        Disks = new DiskSerials { Rootfs = "r1", Overlay = "o1" },
        RootfsFilesystem = RootfsFilesystems.Ext4,
        Volumes = [new GuestVolumeConfig { Serial = "vmps-v0123456789abcd", Path = "/srv/data", ReadOnly = true, Filesystem = RootfsFilesystems.Ext4 }],
        Shares = [new GuestShareConfig { Tag = "vmps-s0", Path = "/srv/share", ReadOnly = true }],
    };

    [Fact]
    public void A_config_round_trips_through_the_disk_format()
    {
        var disk = new MemoryStream();
        ConfigDisk.Write(disk, Sample);
        disk.Position = 0;

        var read = ConfigDisk.Read(disk);

        Assert.Equal(Sample.Command, read.Command);
        Assert.Equal(Sample.Environment, read.Environment);
        Assert.Equal(Sample.Volumes, read.Volumes);
        Assert.Equal(Sample.Shares, read.Shares);
        Assert.Equal(Sample with { Command = read.Command, Environment = read.Environment, Volumes = read.Volumes, Shares = read.Shares }, read);
    }

    [Fact]
    public async Task The_async_variants_round_trip_too()
    {
        var disk = new MemoryStream();
        await ConfigDisk.WriteAsync(disk, Sample, default);
        disk.Position = 0;

        Assert.Equal("web", (await ConfigDisk.ReadAsync(disk, default)).VmName);
    }

    [Fact]
    public void The_image_is_magic_length_json_padded_to_4_KiB()
    {
        var image = ConfigDisk.Serialize(Sample);

        Assert.Equal(0, image.Length % ConfigDisk.BlockSize);
        Assert.Equal("VMPSCFG1", Encoding.ASCII.GetString(image, 0, 8));
        var length = BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(8));
        var json = Encoding.UTF8.GetString(image, ConfigDisk.HeaderSize, length);
        Assert.Contains("\"vmName\":\"web\"", json);
        Assert.Contains("\"initMode\":\"Systemd\"", json);
        Assert.Contains("\"kind\":\"Vsock\"", json);
        Assert.All(image[(ConfigDisk.HeaderSize + length)..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Defaults_name_the_standard_disks_and_agent_port()
    {
        var config = new GuestConfig();

        Assert.Equal(("vmps-rootfs", "vmps-overlay", "vmps-config"), (config.Disks.Rootfs, config.Disks.Overlay, DiskSerials.Config));
        Assert.Equal((AgentChannelKind.VirtioSerial, "org.vmps.agent", 1024u), (config.AgentChannel.Kind, config.AgentChannel.PortName, config.AgentChannel.VsockPort));
        Assert.Equal(("erofs", InitMode.Exec, 1), (config.RootfsFilesystem, config.InitMode, config.SchemaVersion));
        Assert.Empty(config.Command);
    }

    [Fact]
    public void A_disk_without_the_magic_is_rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => ConfigDisk.Read(new MemoryStream(new byte[4096])));

        Assert.Contains("Not a VmPs config disk", error.Message);
    }

    [Fact]
    public void A_disk_shorter_than_the_header_is_rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => ConfigDisk.Read(new MemoryStream("VMPS"u8.ToArray())));

        Assert.Contains("ends before its header", error.Message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(ConfigDisk.MaxJsonLength + 1u)]
    public void A_declared_length_out_of_range_is_rejected(uint length)
    {
        var image = ConfigDisk.Serialize(Sample);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(8), length);

        var error = Assert.Throws<InvalidDataException>(() => ConfigDisk.Read(new MemoryStream(image)));

        Assert.Contains($"declares {length} bytes", error.Message);
    }

    [Fact]
    public void A_length_beyond_the_end_of_the_disk_is_rejected()
    {
        var image = ConfigDisk.Serialize(Sample);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(8), (uint)image.Length);

        var error = Assert.Throws<InvalidDataException>(() => ConfigDisk.Read(new MemoryStream(image)));

        Assert.Contains("ends before its", error.Message);
    }

    [Theory]
    [InlineData("{\"vmName\": ")]
    [InlineData("null")]
    [InlineData("{\"schemaVersion\": 99}")]
    [InlineData("{\"command\": \"not an array\"}")]
    public void Bad_json_is_rejected_with_a_clear_error(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var image = new byte[ConfigDisk.HeaderSize + bytes.Length];
        "VMPSCFG1"u8.CopyTo(image);
        BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(8), bytes.Length);
        bytes.CopyTo(image, ConfigDisk.HeaderSize);

        var error = Assert.Throws<InvalidDataException>(() => ConfigDisk.Read(new MemoryStream(image)));

        Assert.Matches("malformed JSON|JSON null|schema version 99", error.Message);
    }
}
