using System.Globalization;
using VmPs.Core;
using VmPs.Core.Hypervisors.Qemu;
using VmPs.Core.Vms;

namespace VmPs.Tests.Integration;

/// <summary>
/// Set-Vm -MemoryMiB on a running q35 VM under QEMU (TCG): memory plugged and taken out again through virtio-mem, the
/// guest's MemTotal following, and the plugged memory kept through Save-Vm/Start-Vm and Restore-VmCheckpoint (the same
/// boot, resumed, not rebooted).
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class MemoryHotplugVmTests() : OwnHomeVmTests(Vm)
{
    private const string Vm = "memory";

    private const long KiBPerMiB = 1024;

    [RequiresVmBootFact]
    public async Task Memory_plugged_into_a_running_q35_VM_is_used_by_the_guest_and_survives_save_and_checkpoint_restore()
    {
        await Manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", Cpus = 1, MemoryMiB = 256, MachineType = QemuMachine.Q35 }, CancellationToken.None);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        var bootId = await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id");
        var bootTotal = await MemTotalKiBAsync();
        Assert.InRange(bootTotal, 128 * KiBPerMiB, 256 * KiBPerMiB);

        Assert.Equal(512, (await SetMemoryAsync(512)).MemoryMiB);
        Assert.Equal(bootTotal + (256 * KiBPerMiB), await MemTotalKiBAsync());
        Assert.Equal(512, (await Manager.GetAsync(Vm, CancellationToken.None)).MemoryMiB);
        Assert.Equal((bootTotal + (256 * KiBPerMiB)) * 1024, (await Manager.MeasureAsync(Vm, CancellationToken.None)).GuestMemoryTotalBytes);

        // Beyond the room the VM was started with (the host's memory), and below what it booted with: refused, nothing changes.
        var tooMuch = await Assert.ThrowsAsync<VmPsException>(() => SetMemoryAsync(1 << 30));
        Assert.Equal(VmPsErrorIds.MemoryOutOfRange, tooMuch.ErrorId);
        var belowBoot = await Assert.ThrowsAsync<VmPsException>(() => SetMemoryAsync(128));
        Assert.Equal(VmPsErrorIds.VmResizeNeedsStop, belowBoot.ErrorId);
        Assert.Contains("booted with 256 MiB", belowBoot.Message);
        Assert.Equal(512, (await Manager.GetAsync(Vm, CancellationToken.None)).MemoryMiB);
        Assert.Equal(bootTotal + (256 * KiBPerMiB), await MemTotalKiBAsync());

        await Manager.CheckpointAsync(Vm, "large", CancellationToken.None);
        await Manager.SaveAsync(Vm, CancellationToken.None);
        Assert.Equal(512, (await Manager.StartAsync(Vm, Start, null, CancellationToken.None)).MemoryMiB);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        Assert.Equal(bootTotal + (256 * KiBPerMiB), await MemTotalKiBAsync());

        // The restored VM's plugged memory is the device's still: a block goes again.
        Assert.Equal(384, (await SetMemoryAsync(384)).MemoryMiB);
        Assert.Equal(bootTotal + (128 * KiBPerMiB), await MemTotalKiBAsync());

        // The checkpoint was taken with 512 MiB: restoring it gives the VM 512 again, in the same boot.
        Assert.Equal(512, (await Manager.RestoreCheckpointAsync(Vm, "large", CancellationToken.None)).MemoryMiB);
        await Manager.StartAsync(Vm, Start, null, CancellationToken.None);
        Assert.Equal(bootId, await Guest.RunAsync("cat /proc/sys/kernel/random/boot_id"));
        Assert.Equal(bootTotal + (256 * KiBPerMiB), await MemTotalKiBAsync());

        await Manager.StopAsync(Vm, new VmStopOptions { Timeout = TimeSpan.FromMinutes(2) }, CancellationToken.None);
    }

    private async Task<long> MemTotalKiBAsync() =>
        long.Parse((await Guest.RunAsync("grep MemTotal /proc/meminfo")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private Task<VmInfo> SetMemoryAsync(int memoryMiB) => Manager.SetAsync(Vm, new VmSetOptions { MemoryMiB = memoryMiB }, dryRun: false, CancellationToken.None);
}
