using Microsoft.Data.Sqlite;
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

    /// <summary>
    /// Closes the pooled connections too: each state database left in the pool kept its file and WAL open in the test
    /// host (over 500 descriptors of deleted databases in one run), and a descriptor past 1023 reaching select() in a
    /// native library aborted the test host (glibc's FD_SETSIZE check).
    /// </summary>
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Paths.Root, recursive: true);
    }
}
