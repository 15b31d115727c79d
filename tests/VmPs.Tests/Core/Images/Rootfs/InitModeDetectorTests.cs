using VmPs.Core.Images;
using VmPs.Core.Images.Rootfs;

namespace VmPs.Tests.Core.Images.Rootfs;

public sealed class InitModeDetectorTests
{
    [Theory]
    [InlineData(new string[0], new[] { "/sbin/init" }, ImageInitMode.Systemd)]
    [InlineData(new[] { "/lib/systemd/systemd" }, new[] { "--log-level=info" }, ImageInitMode.Systemd)]
    [InlineData(new[] { "/usr/lib/systemd/systemd" }, new string[0], ImageInitMode.Systemd)]
    [InlineData(new string[0], new[] { "/usr/local/bin/init" }, ImageInitMode.Systemd)]
    [InlineData(new string[0], new[] { "/bin/sh" }, ImageInitMode.Exec)]
    [InlineData(new[] { "/docker-entrypoint.sh" }, new[] { "/sbin/init" }, ImageInitMode.Exec)]
    [InlineData(new[] { "/usr/bin/tini", "--" }, new[] { "/sbin/init" }, ImageInitMode.Exec)]
    [InlineData(new string[0], new[] { "/usr/bin/initctl" }, ImageInitMode.Exec)]
    [InlineData(new string[0], new[] { "init" }, ImageInitMode.Exec)]
    [InlineData(new string[0], new string[0], ImageInitMode.Exec)]
    public void TheEffectiveCommandsProgramDecides(string[] entrypoint, string[] cmd, ImageInitMode expected)
    {
        Assert.Equal(expected, InitModeDetector.Detect(entrypoint, cmd));
    }
}
