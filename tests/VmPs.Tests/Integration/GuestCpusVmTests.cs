using VmPs.Core.Agent;

namespace VmPs.Tests.Integration;

/// <summary>
/// The agent's CpusOnline request in a booted VM (QEMU, 2 vCPUs): a vCPU that is offline, as a hot-added one comes
/// up, is online again afterwards (what Set-Vm -Cpus on a running Cloud Hypervisor VM asks for after vm.resize).
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
}
