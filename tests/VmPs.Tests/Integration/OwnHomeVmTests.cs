using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Integration;

/// <summary>
/// A test class that boots its own VM in a VmPs home of its own, watched through a <see cref="CountingGuest"/>; every VM
/// in the home is removed with it.
/// </summary>
public abstract class OwnHomeVmTests : IDisposable
{
    protected static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };

    protected OwnHomeVmTests(string vm)
    {
        Manager = new VmManager(Home.Paths);
        Guest = new CountingGuest(Manager, vm);
    }

    protected TemporaryVmPsHome Home { get; } = new();

    protected VmManager Manager { get; }

    protected CountingGuest Guest { get; }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Manager.RemoveAllVms();
            Home.Dispose();
        }
    }
}
