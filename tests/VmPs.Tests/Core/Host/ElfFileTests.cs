using VmPs.Core.Host;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Host;

public sealed class ElfFileTests
{
    [RequiresProgramFact("busybox")]
    public void StaticBusyboxIsNotDynamicallyLinked()
    {
        // busybox-static provides /bin/busybox on Debian.
        Assert.False(ElfFile.IsDynamicallyLinked("/bin/busybox"));
    }

    [Fact]
    public void OrdinaryDistroProgramIsDynamicallyLinked()
    {
        Assert.True(ElfFile.IsDynamicallyLinked("/bin/ls"));
    }

    [Fact]
    public void NonElfFileIsNotDynamicallyLinked()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "#!/bin/sh\necho not an ELF file\n");
            Assert.False(ElfFile.IsDynamicallyLinked(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
