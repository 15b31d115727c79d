using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// The agent's CpusOnline request in a booted VM (QEMU microvm, 2 vCPUs): a vCPU that is offline, as a hot-added one
/// comes up, is online again afterwards (what Set-Vm -Cpus on a running VM asks for after the hypervisor plugged it);
/// microvm itself plugs none, and says so.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class GuestCpusVmTests
{
    private readonly BootedBusyboxVm vm;

    public GuestCpusVmTests(BootedBusyboxVm vm)
    {
        this.vm = vm;
    }

    [RequiresVmBootFact]
    public async Task An_offline_vCPU_is_brought_online_and_counted()
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var offline = await client.ExecAsync(new AgentExecRequest(["sh", "-c", "echo 0 > /sys/devices/system/cpu/cpu1/online && cat /sys/devices/system/cpu/online"]), default);
        Assert.Equal("0", offline.Stdout.Trim());

        var online = await client.OnlineCpusAsync(default);

        Assert.Equal(2, online);
        Assert.Equal("0-1", (await client.ExecAsync(new AgentExecRequest(["cat", "/sys/devices/system/cpu/online"]), default)).Stdout.Trim());
    }

    [RequiresVmBootFact]
    public async Task Set_Vm_Cpus_on_the_running_microvm_VM_is_refused_and_changes_nothing()
    {
        var error = await Assert.ThrowsAsync<VmPsException>(
            () => vm.Manager.SetAsync(BootedBusyboxVm.Name, new VmSetOptions { Cpus = 3 }, dryRun: false, default));

        Assert.Equal(VmPsErrorIds.VmResizeNeedsStop, error.ErrorId);
        Assert.Equal($"VM '{BootedBusyboxVm.Name}' runs on QEMU (microvm), which does not support changing the vCPUs of a running VM: stop the VM first.", error.Message);
        Assert.Equal(2, (await vm.Manager.GetAsync(BootedBusyboxVm.Name, default)).Cpus);
    }
}
