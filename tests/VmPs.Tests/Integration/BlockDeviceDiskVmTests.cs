using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Vms;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Integration;

/// <summary>
/// A VM whose disk file is a link to a block device, as a disk on the LvmThin backend is (its link names
/// /dev/VG/vmps-vm-ID): booted under QEMU (TCG), the guest writes through it and finds its data after a stop and a
/// start. This machine has no device-mapper, so a loop device over the VM's own formatted disk stands for the thin
/// volume; Remove-Vm then deletes the link, never the device or its file.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class BlockDeviceDiskVmTests : IDisposable
{
    private const string Vm = "blockdisk";
    private static readonly VmStartOptions Start = new() { Timeout = TimeSpan.FromMinutes(5) };
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();
    private readonly VmManager manager;
    private readonly CountingGuest guest;
    private string? loopDevice;

    public BlockDeviceDiskVmTests()
    {
        manager = new VmManager(home.Paths);
        guest = new CountingGuest(manager, Vm);
    }

    public void Dispose()
    {
        manager.RemoveAllVms();
        if (loopDevice is not null)
        {
            ExternalTool.RunAsync("losetup", ["--detach", loopDevice], CancellationToken.None).GetAwaiter().GetResult();
        }

        scratch.Dispose();
        home.Dispose();
    }

    [RequiresVmBootFact(needsRoot: true, "losetup")]
    public async Task A_vm_whose_disk_file_links_to_a_block_device_boots_and_keeps_what_it_wrote()
    {
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = Vm, Image = "busybox", DiskSizeGiB = 1, Hypervisor = HypervisorKind.Qemu }, CancellationToken.None);
        var disk = Path.Combine(vm.Directory, "overlay.ext4");
        var backing = scratch.Combine("thin-volume.ext4");
        File.Move(disk, backing);
        loopDevice = (await ExternalTool.RunCheckedAsync("losetup", ["--find", "--show", backing], CancellationToken.None)).StandardOutput.Trim();
        File.CreateSymbolicLink(disk, loopDevice);

        await manager.StartAsync(Vm, Start, null, CancellationToken.None);
        await guest.RunAsync("echo kept-on-the-device > /kept && sync");
        await manager.StopAsync(Vm, new VmStopOptions(), CancellationToken.None);
        await manager.StartAsync(Vm, Start, null, CancellationToken.None);

        Assert.Equal("kept-on-the-device", await guest.RunAsync("cat /kept"));
        await manager.RemoveAsync(Vm, force: true, CancellationToken.None);
        Assert.False(Directory.Exists(vm.Directory));
        Assert.True(File.Exists(backing));
        Assert.True(File.Exists(loopDevice));
    }
}
