using VmPs.Core;

namespace VmPs.Tests.Core.State;

/// <summary>An isolated VMPS_HOME under /tmp, deleted with everything in it after the test.</summary>
public sealed class TemporaryVmPsHome : IDisposable
{
    public TemporaryVmPsHome()
    {
        Paths = new VmPsPaths(Directory.CreateTempSubdirectory("vmps-test-").FullName);
    }

    public VmPsPaths Paths { get; }

    public void Dispose() => Directory.Delete(Paths.Root, recursive: true);
}
