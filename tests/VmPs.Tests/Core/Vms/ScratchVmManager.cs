using VmPs.Core.Boot;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>A VmManager (<see cref="VmTestHost"/>) on a temporary VMPS_HOME, with a scratch directory; disposing removes its VMs, then both.</summary>
internal sealed class ScratchVmManager : IDisposable
{
    public ScratchVmManager()
    {
        Manager = VmTestHost.Manager(Home.Paths, KernelLocator.FindDefault());
    }

    public TemporaryVmPsHome Home { get; } = new();

    public ScratchDirectory Scratch { get; } = new();

    public VmManager Manager { get; }

    public void Dispose()
    {
        Manager.RemoveAllVms();
        Scratch.Dispose();
        Home.Dispose();
    }
}
