using VmPs.Core;
using VmPs.Core.Access;
using VmPs.Core.State;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Core.Vms;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Access;

/// <summary>Quotas enforced by the allocating transactions of New-Vm, Start-Vm, Set-Vm and New-VmVolume, in a scratch VMPS_HOME (no boots).</summary>
public sealed class QuotaTests : IDisposable
{
    private readonly TemporaryVmPsHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task Parallel_sessions_together_get_no_more_vms_than_the_quota()
    {
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var users = await UsersWithAliceAsync(new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxVms] = 3 });

        // Each insert from its own StateDatabase, as separate sessions would.
        var inserts = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            new VmStore(new StateDatabase(home.Paths.StateDatabase)).InsertAsync(StoreFixtures.Vm($"vm{i}") with { Owner = "alice" }, CancellationToken.None)));
        var outcomes = await Task.WhenAll(inserts.Select(async insert =>
        {
            try
            {
                await insert;
                return "ok";
            }
            catch (VmPsException error)
            {
                return error.ErrorId;
            }
        }));

        Assert.Equal(3, outcomes.Count(outcome => outcome == "ok"));
        Assert.Equal(5, outcomes.Count(outcome => outcome == VmPsErrorIds.QuotaExceeded));
        Assert.Equal(3, (await users.GetAsync("alice", CancellationToken.None)).Usage.Vms);
        Assert.Equal(3, (await new VmStore(database).GetAllAsync(CancellationToken.None)).Count(vm => vm.Owner == "alice"));
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "qemu-system-x86_64")]
    public async Task New_vm_start_vm_and_set_vm_are_refused_past_a_limit_naming_it_and_the_use()
    {
        var users = await UsersWithAliceAsync(new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxVms] = 2, [VmQuotaLimit.MaxMemoryMiB] = 300 });
        var manager = VmTestHost.Manager(home.Paths);
        await manager.CreateAsync(new VmCreateOptions { Name = "a", Image = "busybox", MemoryMiB = 512, DiskSizeGiB = 1, Owner = "alice" }, CancellationToken.None);
        await manager.CreateAsync(new VmCreateOptions { Name = "b", Image = "busybox", MemoryMiB = 256, DiskSizeGiB = 1, Owner = "alice" }, CancellationToken.None);

        var third = await Assert.ThrowsAsync<VmPsException>(() =>
            manager.CreateAsync(new VmCreateOptions { Name = "c", Image = "busybox", DiskSizeGiB = 1, Owner = "alice" }, CancellationToken.None));
        var start = await Assert.ThrowsAsync<VmPsException>(() => manager.StartAsync("a", new VmStartOptions(), null, CancellationToken.None));
        var set = await Assert.ThrowsAsync<VmPsException>(() => manager.SetAsync("b", new VmSetOptions { MemoryMiB = 512 }, false, CancellationToken.None));
        var forAdministrator = await manager.CreateAsync(new VmCreateOptions { Name = "admin", Image = "busybox", DiskSizeGiB = 1 }, CancellationToken.None);

        Assert.Equal(VmPsErrorIds.QuotaExceeded, third.ErrorId);
        Assert.Equal(VmPsErrorKind.LimitsExceeded, third.Kind);
        Assert.Contains("MaxVms quota of 2: 2 VMs in use, 1 more requested", third.Message);
        Assert.Equal("alice", third.Target);
        Assert.Null(await manager.FindAsync("c", CancellationToken.None));
        Assert.Equal(3, Directory.GetDirectories(home.Paths.VmsDirectory).Length);
        Assert.Contains("MaxMemoryMiB quota of 300: 0 MiB of running VMs in use, 512 more requested", start.Message);
        Assert.Equal(VmState.Stopped, (await manager.GetAsync("a", CancellationToken.None)).State);
        Assert.Contains("MaxMemoryMiB quota of 300", set.Message);
        Assert.Equal(256, (await manager.GetAsync("b", CancellationToken.None)).MemoryMiB);
        Assert.Null(forAdministrator.Owner);
        Assert.Equal("alice", (await manager.GetAsync("a", CancellationToken.None)).Owner);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task A_volume_past_the_disk_quota_is_refused_and_leaves_no_file()
    {
        await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        var users = await UsersWithAliceAsync(new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxDiskGiB] = 2 });
        var volumes = new VmManager(home.Paths).Volumes;
        await new VmStore(new StateDatabase(home.Paths.StateDatabase)).InsertAsync(StoreFixtures.Vm("web") with { Owner = "alice" }, CancellationToken.None);

        var fits = await volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 1L << 30, Owner = "alice" }, CancellationToken.None);
        var error = await Assert.ThrowsAsync<VmPsException>(() =>
            volumes.CreateAsync(new VolumeCreateOptions { Name = "more", SizeBytes = 64L << 20, Owner = "alice" }, CancellationToken.None));
        var unknown = await Assert.ThrowsAsync<VmPsException>(() =>
            volumes.CreateAsync(new VolumeCreateOptions { Name = "ghost", SizeBytes = 64L << 20, Owner = "nobody" }, CancellationToken.None));

        Assert.Equal("alice", fits.Owner);
        Assert.Equal(VmPsErrorIds.QuotaExceeded, error.ErrorId);
        Assert.Contains("MaxDiskGiB quota of 2: 2 GiB of disks and volumes in use, 1 more requested", error.Message);
        Assert.Equal(VmPsErrorIds.UserNotFound, unknown.ErrorId);
        Assert.Equal(["data"], (await volumes.GetAllAsync(CancellationToken.None)).Select(volume => volume.Name));
        Assert.Equal([fits.Path], Directory.GetFiles(Path.GetDirectoryName(fits.Path)!).Where(file => !file.EndsWith(".lock", StringComparison.Ordinal)));
        Assert.Equal(2L << 30, (await users.GetAsync("alice", CancellationToken.None)).Usage.DiskBytes);
    }

    [RequiresProgramFact("mkfs.erofs", "mkfs.ext4", "e2fsck", "resize2fs", "qemu-img")]
    public async Task Resize_vm_disk_and_resize_vm_volume_past_the_disk_quota_are_refused_and_grow_nothing()
    {
        var users = await UsersWithAliceAsync(new Dictionary<VmQuotaLimit, int?> { [VmQuotaLimit.MaxDiskGiB] = 4 });
        var manager = VmTestHost.Manager(home.Paths);
        var vm = await manager.CreateAsync(new VmCreateOptions { Name = "web", Image = "busybox", DiskSizeGiB = 1, Owner = "alice" }, CancellationToken.None);
        var volume = await manager.Volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 1L << 30, Format = VolumeFormat.Qcow2, Owner = "alice" }, CancellationToken.None);
        var diskBytes = DiskBytes(vm);

        var disk = await Assert.ThrowsAsync<VmPsException>(() => manager.ResizeDiskAsync("web", 4, CancellationToken.None));
        var grownVolume = await manager.Volumes.ResizeAsync("data", 3L << 30, CancellationToken.None);
        var volumeError = await Assert.ThrowsAsync<VmPsException>(() => manager.Volumes.ResizeAsync("data", 4L << 30, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.QuotaExceeded, disk.ErrorId);
        Assert.Contains("MaxDiskGiB quota of 4: 2 GiB of disks and volumes in use, 3 more requested", disk.Message);
        Assert.Equal(1, (await manager.GetAsync("web", CancellationToken.None)).DiskSizeGiB);
        Assert.Equal(diskBytes, DiskBytes(vm));
        Assert.Equal(3L << 30, grownVolume.SizeBytes);
        Assert.Equal(VmPsErrorIds.QuotaExceeded, volumeError.ErrorId);
        Assert.Contains("MaxDiskGiB quota of 4: 4 GiB of disks and volumes in use, 1 more requested", volumeError.Message);
        Assert.Equal(3L << 30, (await manager.Volumes.GetAsync("data", CancellationToken.None)).SizeBytes);
        Assert.Equal(4L << 30, (await users.GetAsync("alice", CancellationToken.None)).Usage.DiskBytes);
    }

    /// <summary>The bytes of the disk files in the VM's directory: what a growth would change.</summary>
    private static long DiskBytes(VmInfo vm) =>
        Directory.GetFiles(vm.Directory, "*disk*").Where(file => !file.EndsWith(".lock", StringComparison.Ordinal)).Sum(file => new FileInfo(file).Length);

    private async Task<UserManager> UsersWithAliceAsync(IReadOnlyDictionary<VmQuotaLimit, int?> quota)
    {
        var users = new UserManager(new StateDatabase(home.Paths.StateDatabase));
        await users.CreateAsync(new VmUserCreateOptions { Name = "alice", Email = "alice@example.test" }, CancellationToken.None);
        await users.SetQuotaAsync("alice", quota, CancellationToken.None);
        return users;
    }
}
