using VmPs.Core.Host;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Host;

public sealed class ElfExecutableTests
{
    [RequiresProgramFact("busybox")]
    public void StaticBusyboxIsNotDynamicallyLinked()
    {
        // busybox-static provides /bin/busybox on Debian.
        Assert.False(ElfExecutable.IsDynamicallyLinked("/bin/busybox"));
    }

    [Fact]
    public void OrdinaryDistroProgramIsDynamicallyLinked()
    {
        Assert.True(ElfExecutable.IsDynamicallyLinked("/bin/ls"));
    }

    [Fact]
    public void NonElfFileIsNotDynamicallyLinked()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "#!/bin/sh\necho not an ELF file\n");
            Assert.False(ElfExecutable.IsDynamicallyLinked(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
