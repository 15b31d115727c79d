using VmPs.Core.Hypervisors;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Integration;

/// <summary>
/// One busybox VM booted under QEMU and shared by every test class in <see cref="BootedBusyboxVmCollection"/>,
/// so agent tests (exec, files, cmdlets) cost one boot in all. Tests must leave the VM running and must
/// not depend on what other tests wrote in it; each works under a directory of its own.
/// When the VM cannot boot on this machine the fixture stays unbooted and the tests (RequiresVmBootFact) skip.
/// </summary>
public sealed class BootedBusyboxVm : IAsyncLifetime
{
    public const string Name = "shared";

    /// <summary>What its metadata service serves at /latest/user-data: any text, as on EC2 (only cloud-init's VMs need a cloud-config).</summary>
    public const string UserData = "role=shared\ntier=test\n";

    private readonly TemporaryVmPsHome home = new();

    public BootedBusyboxVm()
    {
        Manager = new VmManager(home.Paths);
    }

    public VmManager Manager { get; }

    public TemporaryVmPsHome Home => home;

    public VmInfo Vm { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (new RequiresVmBootFactAttribute().Skip is not null)
        {
            return;
        }

        await Manager.CreateAsync(
            new VmCreateOptions
            {
                Name = Name, Image = "busybox", Cpus = 2, MemoryMiB = 512, Hypervisor = HypervisorKind.Qemu, UserData = UserData, SshPublicKeys = [SampleSshKeys.Ed25519],
            },
            CancellationToken.None);
        Vm = await Manager.StartAsync(Name, new VmStartOptions(), progress: null, CancellationToken.None);
    }

    /// <summary>
    /// A login-less shell on the serial console (ttyS0, where VmPs's init runs none), in a session of its own so it
    /// outlives the exec that starts it. Console tests end it with "exit".
    /// </summary>
    public Task StartConsoleShellAsync() =>
        Manager.ExecAsync(
            Name,
            new VmExecOptions { Command = ["sh", "-c", "setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1' </dev/null >/dev/null 2>&1 &"] },
            CancellationToken.None);

    public async Task DisposeAsync()
    {
        try
        {
            if (await Manager.FindAsync(Name, CancellationToken.None) is not null)
            {
                await Manager.RemoveAsync(Name, force: true, CancellationToken.None);
            }
        }
        finally
        {
            home.Dispose();
        }
    }
}
