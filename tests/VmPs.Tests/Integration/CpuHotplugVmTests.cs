using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// Set-Vm -Cpus on a running q35 VM under QEMU (TCG): vCPUs plugged and unplugged, the guest's nproc following, and
/// the plugged vCPUs kept through Save-Vm/Start-Vm and Restore-VmCheckpoint (the same boot, resumed, not rebooted).
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class CpuHotplugVmTests() : OwnHomeVmTests(Vm)
{
    private const string Vm = "cpus";

    [RequiresVmBootFact]
    public async Task VCpus_plugged_into_a_running_q35_VM_are_online_and_survive_save_and_checkpoint_restore()
    {
        await Manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", Cpus = 1, MemoryMiB = 256, MachineType = QemuMachine.Q35 }, CancellationToken.None);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var bootId = await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id");
        Assert.Equal("1", await Guest.RunAsync("nproc"));

        Assert.Equal(3, (await SetCpusAsync(3)).Cpus);
        Assert.Equal("3", await Guest.RunAsync("nproc"));

        await Manager.CheckpointAsync(Vm, "three", CancellationToken.None);
        await Manager.SaveAsync(Vm, CancellationToken.None);
        Assert.Equal(3, (await Manager.StartAsync(Vm, Start, null, CancellationToken.None)).Cpus);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        Assert.Equal("3", await Guest.RunAsync("nproc"));

        // The restored VM's plugged vCPUs are devices still: one can go again.
        Assert.Equal(2, (await SetCpusAsync(2)).Cpus);
        Assert.Equal("2", await Guest.RunAsync("nproc"));
        Assert.Equal("0-1", await Guest.RunAsync("cat /sys/devices/system/cpu/present"));

        // The checkpoint was taken with 3: restoring it gives the VM 3 again, in the same boot.
        Assert.Equal(3, (await Manager.RestoreCheckpointAsync(Vm, "three", CancellationToken.None)).Cpus);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        Assert.Equal("3", await Guest.RunAsync("nproc"));

        await Manager.StopAsync(Vm, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
    }

    private Task<VmInfo> SetCpusAsync(int cpus) => Manager.SetAsync(Vm, new VmSetOptions { Cpus = cpus }, dryRun: false, CancellationToken.None);
}
