using VmPs.Core.Host;

namespace VmPs.Tests.Core.Host;

public sealed class HostToolCatalogTests
{
    [Theory]
    [InlineData("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022", "7.2.22")]
    [InlineData("cloud-hypervisor v53.0", "53.0")]
    [InlineData("mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0", "1.47.0")]
    [InlineData("BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.", "1.35.0")]
    [InlineData("mkfs.erofs (erofs-utils) 1.7.1", "1.7.1")]
    [InlineData("mkfs.erofs: unrecognized option '--version'\nusage: [options] FILE DIRECTORY", null)]
    public void VersionIsTheFirstDottedNumber(string output, string? expected)
    {
        Assert.Equal(expected, HostToolCatalog.ParseVersion(output));
    }

    [Fact]
    public void DefaultSearchPathIncludesTheSbinDirectories()
    {
        var directories = HostToolCatalog.DefaultSearchPath().Split(':');

        Assert.Contains("/usr/sbin", directories);
        Assert.Contains("/sbin", directories);
    }
}
