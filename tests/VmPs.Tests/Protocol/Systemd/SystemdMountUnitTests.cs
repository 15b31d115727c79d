using VmPs.Protocol.Config;
using VmPs.Protocol.Systemd;

namespace VmPs.Tests.Protocol.Systemd;

public sealed class SystemdMountUnitTests
{
    [Fact]
    public void AWritableVolumesUnitMountsItsDeviceAtItsPathBeforeLocalFs()
    {
        var unit = SystemdMountUnit.ForVolume(Volume("/srv/my-data"), "/dev/vdb")!;

        Assert.Equal(@"srv-my\x2ddata.mount", unit.Name);
        Assert.Equal(@"/run/systemd/system/srv-my\x2ddata.mount", unit.UnitPath);
        Assert.Equal(@"/run/systemd/system/local-fs.target.wants/srv-my\x2ddata.mount", unit.WantsLinkPath);
        Assert.Equal(
            [
                "[Unit]", "Description=VmPs volume data", "Before=local-fs.target", "",
                "[Mount]", "What=/dev/vdb", "Where=/srv/my-data", "Type=ext4", "Options=rw", "",
                "[Install]", "WantedBy=local-fs.target", "",
            ],
            Settings(unit));
    }

    [Fact]
    public void AReadOnlyVolumeIsMountedReadOnlyWithoutJournalReplayAsTheGuestMountsIt()
    {
        var unit = SystemdMountUnit.ForVolume(Volume("/srv/data") with { ReadOnly = true }, "/dev/vdc")!;

        Assert.Contains("Options=ro,noload", Settings(unit));
    }

    [Fact]
    public void AShareIsMountedByItsVirtioFsTag()
    {
        var unit = SystemdMountUnit.ForShare(new GuestShareConfig { Tag = "vmps-share0", Path = "/mnt/host", ReadOnly = true })!;

        Assert.Equal("mnt-host.mount", unit.Name);
        Assert.Equal(
            ["Description=VmPs host directory share vmps-share0", "What=vmps-share0", "Where=/mnt/host", "Type=virtiofs", "Options=ro"],
            Settings(unit).Where(line => line.Contains('=', StringComparison.Ordinal) && !line.Contains(".target", StringComparison.Ordinal)));
    }

    [Fact]
    public void APercentSignIsWrittenAsSystemdsLiteralPercentNotASpecifier()
    {
        var unit = SystemdMountUnit.ForVolume(Volume("/srv/%h") with { Name = "50%" }, "/dev/vdb")!;

        Assert.Equal(@"srv-\x25h.mount", unit.Name);
        Assert.Contains("Where=/srv/%%h", Settings(unit));
        Assert.Contains("Description=VmPs volume 50%%", Settings(unit));
    }

    [Theory]
    [InlineData("/srv/data\nExecStart=/bin/sh")]
    [InlineData("/srv/data ")]
    [InlineData(@"/srv/data\")]
    public void APathAUnitFileCannotHoldAsItIsGetsNoUnit(string path)
    {
        Assert.Null(SystemdMountUnit.NameFor(path));
        Assert.Null(SystemdMountUnit.ForVolume(Volume(path), "/dev/vdb"));
    }

    [Fact]
    public void APathWhoseNameIsLongerThanSystemdAllowsGetsNoUnit()
    {
        var longest = "/" + new string('a', SystemdUnitName.MaxLength - ".mount".Length);

        Assert.Equal(longest[1..] + ".mount", SystemdMountUnit.NameFor(longest));
        Assert.Null(SystemdMountUnit.NameFor(longest + "a"));
        Assert.Null(SystemdMountUnit.NameFor("/" + new string('-', 64)));
    }

    [Fact]
    public void AVolumeNameOrDeviceWithAControlCharacterGetsNoUnit()
    {
        Assert.Null(SystemdMountUnit.ForVolume(Volume("/srv/data") with { Name = "data\n[Service]" }, "/dev/vdb"));
        Assert.Null(SystemdMountUnit.ForVolume(Volume("/srv/data"), "/dev/vdb\n"));
        Assert.Null(SystemdMountUnit.ForShare(new GuestShareConfig { Tag = "", Path = "/mnt/host" }));
    }

    [Fact]
    public void ARawVolumeIsLinkedNotMountedSoItHasNoMountUnit()
    {
        Assert.Throws<ArgumentException>(() => SystemdMountUnit.ForVolume(Volume("/srv/raw") with { Filesystem = null }, "/dev/vdb"));
    }

    private static GuestVolumeConfig Volume(string path) => new() { Name = "data", Serial = "vmps-v0123456789abcd", Path = path, Filesystem = "ext4" };

    /// <summary>The unit's lines without its comment.</summary>
    private static string[] Settings(SystemdMountUnit unit) =>
        unit.Content.Split('\n').Where(line => !line.StartsWith('#')).ToArray();
}
