using VmPs.Core;
using VmPs.Core.Boot;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Images;
using VmPs.Core.Network;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage.LvmThin;

/// <summary>
/// VMs' own disks on the LvmThin backend, through New-Vm, Resize-VmDisk, Get-Vm and Remove-Vm of a real state
/// database, with the plans recorded instead of run (this machine's kernel has no device-mapper): a direct boot's disk
/// is a formatted thin volume, a disk image's a snapshot of a base written once per image, the VM's disk file links to
/// the device, and a failed or killed creation leaves nothing in the pool.
/// </summary>
public sealed class ThinVmDiskTests : IDisposable
{
    private const long GiB = 1L << 30;
    private static readonly StorageSettings Pool = new(StorageBackend.LvmThin, "vg0", "pool");
    private readonly TemporaryVmPsHome home = new();
    private readonly RecordingLvmRunner runner = new();

    public void Dispose() => home.Dispose();

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_direct_boot_vms_disk_is_a_formatted_thin_volume_its_disk_file_links_to_grown_measured_and_removed()
    {
        var manager = await ManagerOnPoolAsync();

        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 2 }, CancellationToken.None);
        var volume = $"vmps-vm-{vm.Id:N}";
        var device = $"/dev/vg0/{volume}";

        Assert.Equal(
            [
                ["lvcreate", "--yes", "--type", "thin", "--name", volume, "--virtualsize", "2147483648b", "--thinpool", "vg0/pool"],
                ["mkfs.ext4", "-q", "-F", "-L", "vmps-overlay", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", device],
                Usage,
            ],
            runner.Argv);
        Assert.Equal(device, new FileInfo(Path.Combine(vm.Directory, "overlay.ext4")).LinkTarget);
        Assert.Equal(DiskImageFormat.Raw, vm.DiskFormat);

        runner.UsageOutput = $"  pool|10737418240|1.00\n  {volume}|2147483648|25.00\n";
        runner.Commands.Clear();
        var grown = await manager.ResizeDiskAsync("web", 3, CancellationToken.None);
        Assert.Equal(["lvextend", "--size", "3221225472b", "--resizefs", $"vg0/{volume}"], runner.Argv[0]);
        Assert.Equal(3, grown.DiskSizeGiB);
        Assert.Equal(512L << 20, grown.DiskAllocatedBytes);
        Assert.Equal(512L << 20, Assert.Single(await manager.GetAllAsync(CancellationToken.None)).DiskAllocatedBytes);

        runner.Commands.Clear();
        await manager.RemoveAsync("web", force: false, CancellationToken.None);
        Assert.Equal([Usage, ["lvremove", "--yes", $"vg0/{volume}"]], runner.Argv);
        Assert.False(Directory.Exists(vm.Directory));
        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_failing_lvs_counts_thin_disks_and_volumes_0_rather_than_failing_get_vm_and_get_vm_volume()
    {
        var manager = await ManagerOnPoolAsync();
        await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64L << 20 }, CancellationToken.None);

        runner.FailOn = "lvs";
        Assert.Equal(0, Assert.Single(await manager.GetAllAsync(CancellationToken.None)).DiskAllocatedBytes);
        runner.FailOn = "lvs";
        Assert.Equal(0, Assert.Single(await manager.Volumes.GetAllAsync(CancellationToken.None)).AllocatedBytes);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_failed_format_removes_the_thin_volume_the_row_and_the_directory()
    {
        var manager = await ManagerOnPoolAsync();
        runner.FailOn = "mkfs.ext4";

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.ExternalToolFailed, error.ErrorId);
        // The plan's undo removes the volume; the rollback's lvs then finds nothing left to remove.
        Assert.Equal(["lvcreate", "mkfs.ext4", "lvremove", "lvs"], runner.Commands.Select(command => command.Program));
        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
        Assert.Empty(Directory.EnumerateFileSystemEntries(home.Paths.VmsDirectory));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_creation_killed_after_lvcreate_is_swept_by_the_next_vm_command_through_the_disk_files_link()
    {
        var manager = await ManagerOnPoolAsync();
        // What a New-Vm killed right after lvcreate leaves: its directory with the link made before the volume, and
        // its marker naming a session that is gone.
        var id = Guid.NewGuid();
        var files = new VmFiles(home.Paths.VmDirectory(id.ToString("N")));
        Directory.CreateDirectory(files.Directory);
        new ThinVmDisk("vg0", id).Link(files.Disk("overlay.ext4"));
        PidFile.Write(files.CreatingMarker, await VmTestHost.DeadProcessAsync());
        var volume = $"vmps-vm-{id:N}";
        runner.UsageOutput = $"  {volume}|1073741824|0.00\n";

        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));

        Assert.Equal([Usage, ["lvremove", "--yes", $"vg0/{volume}"]], runner.Argv);
        Assert.Empty(Directory.EnumerateFileSystemEntries(home.Paths.VmsDirectory));
    }

    [Fact]
    public void Only_a_link_to_the_vms_own_volume_in_a_valid_group_is_followed()
    {
        var id = Guid.NewGuid();
        var directory = Directory.CreateDirectory(Path.Combine(home.Paths.Root, "links")).FullName;
        string Link(string name, string target)
        {
            var path = Path.Combine(directory, name);
            File.CreateSymbolicLink(path, target);
            return path;
        }

        Assert.Equal(new ThinVmDisk("vg0", id), ThinVmDisk.Find(Link("own", $"/dev/vg0/vmps-vm-{id:N}"), id));
        Assert.Null(ThinVmDisk.Find(Link("other-vm", $"/dev/vg0/vmps-vm-{Guid.NewGuid():N}"), id));
        Assert.Null(ThinVmDisk.Find(Link("bad-group", $"/dev/-vg/vmps-vm-{id:N}"), id));
        Assert.Null(ThinVmDisk.Find(Link("deeper", $"/dev/mapper/vg0/vmps-vm-{id:N}"), id));
        Assert.Null(ThinVmDisk.Find(Link("relative", $"vg0/vmps-vm-{id:N}"), id));
        File.WriteAllText(Path.Combine(directory, "file"), "");
        Assert.Null(ThinVmDisk.Find(Path.Combine(directory, "file"), id));
        Assert.Null(ThinVmDisk.Find(Path.Combine(directory, "missing"), id));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task A_failed_lvremove_keeps_the_vm_and_the_next_remove_vm_finishes()
    {
        var manager = await ManagerOnPoolAsync();
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        var volume = $"vmps-vm-{vm.Id:N}";
        runner.UsageOutput = $"  {volume}|1073741824|0.00\n";
        runner.FailOn = "lvremove";

        var error = await Assert.ThrowsAsync<VmPsException>(() => manager.RemoveAsync("web", force: false, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.ExternalToolFailed, error.ErrorId);
        Assert.Equal(vm.Id, (await manager.GetAsync("web", CancellationToken.None)).Id);
        Assert.Equal($"/dev/vg0/{volume}", new FileInfo(Path.Combine(vm.Directory, "overlay.ext4")).LinkTarget);

        runner.UsageOutput = "";
        runner.Commands.Clear();
        await manager.RemoveAsync("web", force: false, CancellationToken.None);
        Assert.Equal([Usage], runner.Argv);
        Assert.Empty(await manager.GetAllAsync(CancellationToken.None));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task What_a_thin_disk_cannot_be_or_do_is_refused_with_the_reason()
    {
        var manager = await ManagerOnPoolAsync();

        var qcow2 = await Assert.ThrowsAsync<VmPsException>(() => manager.ValidateCreateAsync(new VmCreateOptions { Name = "q", Image = "busybox", DiskFormat = DiskImageFormat.Qcow2 }, CancellationToken.None));
        Assert.Equal(VmPsErrorIds.StorageBackendNotSupported, qcow2.ErrorId);
        Assert.Contains("-DiskFormat Qcow2 needs a file", qcow2.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Commands);

        await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);
        var checkpoint = await Assert.ThrowsAsync<VmPsException>(() => manager.CheckpointAsync("web", "cp1", CancellationToken.None));
        var copy = await Assert.ThrowsAsync<VmPsException>(() => manager.CopyAsync("web", "copy", CancellationToken.None));

        Assert.Equal(VmPsErrorIds.StorageBackendNotSupported, checkpoint.ErrorId);
        Assert.Contains("thin volume vg0/vmps-vm-", checkpoint.Message, StringComparison.Ordinal);
        Assert.Equal(VmPsErrorIds.StorageBackendNotSupported, copy.ErrorId);
        Assert.Empty(await manager.GetCheckpointsAsync("web", CancellationToken.None));
    }

    [RequiresProgramFact("qemu-img", "xorriso", "qemu-system-x86_64")]
    public async Task A_disk_image_vms_disk_is_a_snapshot_of_a_base_written_once_per_image_under_a_partial_name()
    {
        var manager = await ManagerOnPoolAsync();
        var source = Path.Combine(home.Paths.Root, "cloud.qcow2");
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", source, "1G"], CancellationToken.None);
        var image = await new ImageManager(home.Paths).AddDiskAsync(new DiskImageAddOptions { Path = source, Name = "cloud" }, null, CancellationToken.None);
        var imageId = Guid.Parse(image.Id);
        var baseName = $"vmps-image-{imageId:N}";
        var partial = baseName + "-partial";
        // A base write killed earlier left its partial volume: it goes first.
        runner.UsageOutput = $"  {partial}|1073741824|10.00\n";

        var first = await manager.CreateAsync(new VmCreateOptions { Name = "a", Image = "cloud", DiskSizeGiB = 2 }, CancellationToken.None);

        var firstDisk = $"vmps-vm-{first.Id:N}";
        Assert.Equal(
            [
                Usage,
                ["lvremove", "--yes", $"vg0/{partial}"],
                ["lvcreate", "--yes", "--type", "thin", "--name", partial, "--virtualsize", "1073741824b", "--thinpool", "vg0/pool"],
                ["qemu-img", "convert", "-n", "-f", "qcow2", "-O", "raw", image.RootfsPath, $"/dev/vg0/{partial}"],
                ["lvrename", "vg0", partial, baseName],
                ["lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--activate", "y", "--name", firstDisk, $"vg0/{baseName}"],
                ["lvextend", "--size", "2147483648b", $"vg0/{firstDisk}"],
                Usage,
            ],
            runner.Argv);
        Assert.Equal($"/dev/vg0/{firstDisk}", new FileInfo(Path.Combine(first.Directory, "disk.raw")).LinkTarget);
        Assert.Equal(DiskImageFormat.Raw, first.DiskFormat);

        runner.UsageOutput = $"  {baseName}|1073741824|10.00\n  {firstDisk}|2147483648|1.00\n";
        runner.Commands.Clear();
        var second = await manager.CreateAsync(new VmCreateOptions { Name = "b", Image = "cloud", DiskSizeGiB = 1 }, CancellationToken.None);

        Assert.Equal(
            [Usage, ["lvcreate", "--yes", "--snapshot", "--setactivationskip", "n", "--activate", "y", "--name", $"vmps-vm-{second.Id:N}", $"vg0/{baseName}"], Usage],
            runner.Argv);

        runner.Commands.Clear();
        await manager.ResizeDiskAsync("b", 4, CancellationToken.None);
        Assert.Equal(["lvextend", "--size", "4294967296b", $"vg0/vmps-vm-{second.Id:N}"], runner.Argv[0]);

        // The VMs' snapshots outlive their origin: Remove-VmImage -Force takes the base out of the pool.
        runner.Commands.Clear();
        await new ImageManager(home.Paths, new StateDatabase(home.Paths.StateDatabase), runner.Host()).RemoveAsync("cloud", force: true, CancellationToken.None);
        Assert.Equal([Usage, ["lvremove", "--yes", $"vg0/{baseName}"]], runner.Argv);
    }

    private static string[] Usage => ["lvs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "--options", "lv_name,lv_size,data_percent", "vg0"];

    private async Task<VmManager> ManagerOnPoolAsync()
    {
        var database = new StateDatabase(home.Paths.StateDatabase);
        var host = new HostContext(_ => Task.FromResult(VmTestHost.QemuHost(KernelLocator.FindDefault())), HypervisorRegistry.Default(), database, runner.Host());
        await host.SetStorageAsync(Pool, CancellationToken.None);
        runner.Commands.Clear();
        return new VmManager(home.Paths, database, host, new Lazy<NetworkManager>(() => new NetworkManager(home.Paths, database, NetworkNamespace.FromEnvironment(), null)), new VmManagerSettings());
    }
}
