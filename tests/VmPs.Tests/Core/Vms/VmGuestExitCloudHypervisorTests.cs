using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Hypervisors.CloudHypervisor;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;

namespace VmPs.Tests.Core.Vms;

/// <summary>
/// How Get-Vm records the end of a Cloud Hypervisor VM whose guest wrote no VmPs poweroff marker (a disk image's
/// systemd, an installer), through VmManager with the fake CH, which writes the event monitor file as CH does: a guest
/// power-off is Stopped; a killed VMM, a guest panic and VmPs's own shutdown of a failed start are Crashed, each saying
/// what CH recorded; a guest reset reboots the VM inside the same VMM, which keeps running.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmGuestExitCloudHypervisorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeCloudHypervisorVmManager vms = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => vms.DisposeAsync().AsTask();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task A_guest_that_powers_off_is_stopped_not_crashed()
    {
        await StartAsync();

        await vms.Launcher.Vmm.GuestPowersOffAsync();
        var vm = await vms.Manager.GetAsync("guest", CancellationToken.None);

        Assert.True(vm.State == VmState.Stopped, $"{vm.State}: {vm.StatusDetail}");
        Assert.Null(vm.StatusDetail);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task A_killed_vmm_is_a_crash_and_a_guest_panic_says_so()
    {
        await StartAsync();
        await KillVmmAsync();
        var killed = await vms.Manager.GetAsync("guest", CancellationToken.None);

        Assert.Equal(VmState.Crashed, killed.State);
        Assert.DoesNotContain("Cloud Hypervisor recorded", killed.StatusDetail, StringComparison.Ordinal);

        await StartAsync();
        vms.Launcher.Vmm.GuestPanics();
        await KillVmmAsync();
        var panicked = await vms.Manager.GetAsync("guest", CancellationToken.None);

        Assert.Equal(VmState.Crashed, panicked.State);
        Assert.Contains("Cloud Hypervisor recorded a guest kernel panic.", panicked.StatusDetail, StringComparison.Ordinal);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task A_guest_reset_reboots_the_vm_in_place_and_it_keeps_running()
    {
        await StartAsync();
        var vmm = vms.Launcher.Vmm;

        vmm.GuestResets();
        vmm.GuestResets();
        var vm = await vms.Manager.GetAsync("guest", CancellationToken.None);

        Assert.Equal(VmState.Running, vm.State);
        Assert.True(ProcessProbe.IsRunning(vmm.Process));
        Assert.Equal(1, vms.Launcher.Launches);
        Assert.Equal("Running", vmm.VmState);

        // The reboots do not hide a later power-off.
        await vmm.GuestPowersOffAsync();
        Assert.Equal(VmState.Stopped, (await vms.Manager.GetAsync("guest", CancellationToken.None)).State);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "busybox")]
    public async Task Vmps_shutting_down_a_failed_start_is_no_guest_power_off()
    {
        await vms.Manager.CreateAsync(new VmCreateOptions { Name = "guest", Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.CloudHypervisor }, CancellationToken.None);

        // The fake runs no agent: the start gives up and VmPs shuts the VMM down (vm.shutdown, vmm.shutdown).
        await Assert.ThrowsAsync<VmPsException>(() => vms.Manager.StartAsync("guest", new VmStartOptions { Timeout = TimeSpan.FromSeconds(2) }, progress: null, CancellationToken.None));
        var vm = await vms.Manager.GetAsync("guest", CancellationToken.None);

        Assert.Equal(VmState.Crashed, vm.State);
        Assert.Contains("Cloud Hypervisor shut down as VmPs asked.", vm.StatusDetail, StringComparison.Ordinal);
        Assert.Contains(vms.Launcher.Vmm.Requests, request => request.Endpoint == "vmm.shutdown");
    }

    private async Task StartAsync()
    {
        if (await vms.Manager.FindAsync("guest", CancellationToken.None) is null)
        {
            await vms.Manager.CreateAsync(new VmCreateOptions { Name = "guest", Image = "busybox", MemoryMiB = 256, Hypervisor = HypervisorKind.CloudHypervisor }, CancellationToken.None);
        }

        await vms.Manager.StartAsync("guest", new VmStartOptions { WaitForAgent = false }, progress: null, CancellationToken.None);
    }

    /// <summary>SIGKILL to the VMM's process: CH writes nothing more.</summary>
    private async Task KillVmmAsync()
    {
        var vmm = vms.Launcher.Vmm;
        await ProcessProbe.KillAsync(vmm.Process, Patience, CancellationToken.None);
        await vmm.Exited.WaitAsync(Patience);
    }
}
