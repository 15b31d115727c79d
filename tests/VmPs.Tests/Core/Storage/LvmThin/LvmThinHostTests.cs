using VmPs.Core;
using VmPs.Core.Host;
using VmPs.Core.Hypervisors;
using VmPs.Core.Network;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Storage.LvmThin;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;

namespace VmPs.Tests.Core.Storage.LvmThin;

/// <summary>
/// Set-VmHost's checks and choice (in a real state database) and volumes on LvmThin, their plans run through the
/// recording seam: this machine's kernel has no device-mapper, so no thin volume can really be made here.
/// </summary>
public sealed class LvmThinHostTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private static readonly StorageSettings Pool = new(StorageBackend.LvmThin, "vg0", "pool");
    private readonly TemporaryVmPsHome home = new();
    private readonly RecordingLvmRunner runner = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_host_without_device_mapper_refuses_lvm_thin_naming_each_check_and_keeps_file()
    {
        var host = await HostAsync(runner.Host(new DeviceMapperStatus(false, false, false)));

        var error = await Assert.ThrowsAsync<VmPsException>(() => host.SetStorageAsync(Pool, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.DeviceMapperUnavailable, error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains("device-mapper unavailable", error.Message, StringComparison.Ordinal);
        Assert.Contains("/dev/mapper/control is missing, /sys/class/misc/device-mapper is missing, /proc/misc does not list device-mapper", error.Message, StringComparison.Ordinal);
        Assert.Contains("modprobe dm_thin_pool", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(runner.Commands);
        Assert.Equal(StorageSettings.Default, await host.StorageAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_driver_without_its_control_node_is_unavailable_too()
    {
        var host = await HostAsync(runner.Host(new DeviceMapperStatus(ControlNode: false, SysfsEntry: true, ProcMiscEntry: true)));

        var error = await Assert.ThrowsAsync<VmPsException>(() => host.ValidateStorageAsync(Pool, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.DeviceMapperUnavailable, error.ErrorId);
        Assert.Contains("/dev/mapper/control is missing, /sys/class/misc/device-mapper exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_are_checked_before_the_device_mapper()
    {
        var host = await HostAsync(runner.Host(new DeviceMapperStatus(false, false, false)));

        var error = await Assert.ThrowsAsync<VmPsException>(() => host.ValidateStorageAsync(Pool with { ThinPool = "pool_tmeta" }, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.InvalidLvmName, error.ErrorId);
    }

    [Fact]
    public async Task Missing_lvm2_programs_are_named_with_the_debian_package()
    {
        var host = await HostAsync(runner.Host(null, "lvcreate", "lvs"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => host.SetStorageAsync(Pool, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.LvmToolsMissing, error.ErrorId);
        Assert.Equal(VmPsErrorKind.NotInstalled, error.Kind);
        Assert.Contains("lvcreate, lvs were not found. Install the Debian package 'lvm2'.", error.Message, StringComparison.Ordinal);
        Assert.Equal("apt-get install lvm2", error.RecommendedAction);
        Assert.Empty(runner.Commands);
    }

    [Fact]
    public async Task A_pool_lvs_cannot_find_or_that_is_no_thin_pool_is_refused()
    {
        var host = await HostAsync(runner.Host());
        runner.FailOn = "lvs";
        Assert.Equal(VmPsErrorIds.ThinPoolNotFound, (await Assert.ThrowsAsync<VmPsException>(() => host.SetStorageAsync(Pool, CancellationToken.None))).ErrorId);

        runner.LvsOutput = "  -wi-a-----\n";
        var error = await Assert.ThrowsAsync<VmPsException>(() => host.SetStorageAsync(Pool, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.ThinPoolNotFound, error.ErrorId);
        Assert.Contains("'-wi-a-----'", error.Message, StringComparison.Ordinal);
        Assert.Equal(StorageSettings.Default, await host.StorageAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Lvm_thin_needs_both_names_and_file_takes_neither()
    {
        var host = await HostAsync(runner.Host());

        Assert.Equal(VmPsErrorIds.StorageSettingsInvalid, (await Assert.ThrowsAsync<VmPsException>(() => host.ValidateStorageAsync(Pool with { ThinPool = null }, CancellationToken.None))).ErrorId);
        Assert.Equal(VmPsErrorIds.StorageSettingsInvalid, (await Assert.ThrowsAsync<VmPsException>(() => host.ValidateStorageAsync(StorageSettings.Default with { VolumeGroup = "vg0" }, CancellationToken.None))).ErrorId);
    }

    [Fact]
    public async Task The_choice_is_stored_in_the_state_database_and_shown_in_the_report_of_a_later_session()
    {
        var host = await HostAsync(runner.Host());

        var report = await host.SetStorageAsync(Pool, CancellationToken.None);

        Assert.Equal(Pool, report.Storage);
        Assert.Equal([["lvs", "--noheadings", "--options", "lv_attr", "vg0/pool"]], runner.Argv);
        var later = new HostContext(_ => Task.FromResult(Report()), HypervisorRegistry.Default(), new StateDatabase(home.Paths.StateDatabase), runner.Host());
        Assert.Equal(Pool, (await later.GetReportAsync(refresh: false, CancellationToken.None)).Storage);

        await later.SetStorageAsync(StorageSettings.Default, CancellationToken.None);
        Assert.Equal(StorageSettings.Default, await host.StorageAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Volumes_on_lvm_thin_are_made_grown_and_removed_by_the_plans_and_the_vm_gets_the_device()
    {
        var volumes = await VolumesOnPoolAsync();

        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64 * MiB }, CancellationToken.None);
        var name = $"vmps-volume-{volume.Id:N}";

        Assert.Equal($"/dev/vg0/{name}", volume.Path);
        Assert.Equal(
            [
                ["lvcreate", "--yes", "--type", "thin", "--name", name, "--virtualsize", "67108864b", "--thinpool", "vg0/pool"],
                ["mkfs.ext4", "-q", "-F", "-t", "ext4", "-L", "vmps-volume", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0", $"/dev/vg0/{name}"],
                Usage,
            ],
            runner.Argv);

        runner.Commands.Clear();
        Assert.Equal(128 * MiB, (await volumes.ResizeAsync("data", 128 * MiB, CancellationToken.None)).SizeBytes);
        await volumes.RemoveAsync("data", force: false, CancellationToken.None);

        Assert.Equal([["lvextend", "--size", "134217728b", "--resizefs", $"vg0/{name}"], Usage, ["lvremove", "--yes", $"vg0/{name}"]], runner.Argv);
        Assert.Empty(await volumes.GetAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failed_format_removes_the_thin_volume_and_the_row()
    {
        var volumes = await VolumesOnPoolAsync();
        runner.FailOn = "mkfs.ext4";

        var error = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64 * MiB }, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.ExternalToolFailed, error.ErrorId);
        Assert.Equal(["lvcreate", "mkfs.ext4", "lvremove"], runner.Commands.Select(command => command.Program));
        Assert.Equal(runner.Commands[0].Arguments[4], runner.Commands[2].Arguments[1].Split('/')[1]);
        Assert.Empty(await volumes.GetAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task What_a_thin_volume_cannot_be_is_refused_before_anything_is_made()
    {
        var volumes = await VolumesOnPoolAsync();

        var qcow2 = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = "q", SizeBytes = 64 * MiB, Format = VolumeFormat.Qcow2 }, CancellationToken.None));
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "raw", SizeBytes = 64 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        var copy = await Assert.ThrowsAsync<VmPsException>(() => volumes.CopyAsync("raw", "copy", CancellationToken.None));

        Assert.Equal(VmPsErrorIds.StorageBackendNotSupported, qcow2.ErrorId);
        Assert.Equal(VmPsErrorIds.StorageBackendNotSupported, copy.ErrorId);
        Assert.Equal(["lvcreate", "lvs"], runner.Commands.Select(command => command.Program));
        Assert.Equal(["raw"], (await volumes.GetAllAsync(CancellationToken.None)).Select(volume => volume.Name));
    }

    [Fact]
    public async Task A_thin_volume_keeps_its_pool_after_the_host_goes_back_to_files()
    {
        var host = await HostAsync(runner.Host());
        var volumes = Volumes(host);
        await host.SetStorageAsync(Pool, CancellationToken.None);
        var thin = await volumes.CreateAsync(new VolumeCreateOptions { Name = "thin", SizeBytes = 64 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);

        await host.SetStorageAsync(StorageSettings.Default, CancellationToken.None);
        runner.Commands.Clear();
        await volumes.RemoveAsync("thin", force: false, CancellationToken.None);

        Assert.Equal([["lvremove", "--yes", $"vg0/vmps-volume-{thin.Id:N}"]], runner.Argv);
    }

    [Fact]
    public async Task Allocated_bytes_of_thin_volumes_come_from_one_lvs_run_and_file_volumes_keep_their_blocks()
    {
        var host = await HostAsync(runner.Host());
        var volumes = Volumes(host);
        var file = await volumes.CreateAsync(new VolumeCreateOptions { Name = "file", SizeBytes = 64 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        await host.SetStorageAsync(Pool, CancellationToken.None);
        var a = await volumes.CreateAsync(new VolumeCreateOptions { Name = "a", SizeBytes = 64 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        var b = await volumes.CreateAsync(new VolumeCreateOptions { Name = "b", SizeBytes = 64 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        runner.UsageOutput = $"  pool|1073741824|3.00\n  vmps-volume-{a.Id:N}|67108864|25.00\n  vmps-volume-{b.Id:N}|67108864|\n";
        runner.Commands.Clear();

        var all = (await volumes.GetAllAsync(CancellationToken.None)).ToDictionary(volume => volume.Name, volume => volume.AllocatedBytes);

        Assert.Equal(new Dictionary<string, long> { ["a"] = 16 * MiB, ["b"] = 0, ["file"] = FileAllocation.BytesOf(file.Path) }, all);
        Assert.Equal([Usage], runner.Argv);
        Assert.Equal(16 * MiB, (await volumes.GetAsync("a", CancellationToken.None)).AllocatedBytes);
    }

    [Fact]
    public async Task A_failed_lvremove_keeps_the_volume_listed_and_attachable_and_says_so()
    {
        var volumes = await VolumesOnPoolAsync();
        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "data", SizeBytes = 64 * MiB }, CancellationToken.None);
        runner.FailOn = "lvremove";

        var error = await Assert.ThrowsAsync<VmPsException>(() => volumes.RemoveAsync("data", force: false, CancellationToken.None));

        Assert.Equal(VmPsErrorIds.VolumeRemoveFailed, error.ErrorId);
        Assert.Contains("'data' was not removed and is kept", error.Message, StringComparison.Ordinal);
        Assert.Contains("lvremove --yes vg0/vmps-volume-", error.Message, StringComparison.Ordinal);
        Assert.Equal(VmPsErrorIds.ExternalToolFailed, Assert.IsType<VmPsException>(error.InnerException).ErrorId);
        Assert.Equal([volume.Id], (await volumes.GetAllAsync(CancellationToken.None)).Select(kept => kept.Id));
        Assert.Equal(VolumeState.Ready, (await volumes.Store.FindByNameAsync("data", CancellationToken.None))!.State);

        runner.Commands.Clear();
        await volumes.RemoveAsync("data", force: false, CancellationToken.None);
        Assert.Equal([["lvremove", "--yes", $"vg0/vmps-volume-{volume.Id:N}"]], runner.Argv);
        Assert.Empty(await volumes.GetAllAsync(CancellationToken.None));
    }

    private static string[] Usage => ["lvs", "--noheadings", "--units", "b", "--nosuffix", "--separator", "|", "--options", "lv_name,lv_size,data_percent", "vg0"];

    private async Task<VolumeManager> VolumesOnPoolAsync()
    {
        var host = await HostAsync(runner.Host());
        await host.SetStorageAsync(Pool, CancellationToken.None);
        runner.Commands.Clear();
        return Volumes(host);
    }

    private VolumeManager Volumes(HostContext host)
    {
        var database = new StateDatabase(home.Paths.StateDatabase);
        return new VmManager(home.Paths, database, host, new Lazy<NetworkManager>(() => throw new InvalidOperationException("no network here")), new VmManagerSettings()).Volumes;
    }

    private async Task<HostContext> HostAsync(LvmThinHost lvmThin)
    {
        var database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        return new HostContext(_ => Task.FromResult(Report()), HypervisorRegistry.Default(), database, lvmThin);
    }

    private static HostReport Report() => new()
    {
        Hypervisors = [],
        Kvm = new KvmStatus(false, false, "not needed"),
        QemuAccelerator = Accelerator.Tcg,
        DefaultKernel = null,
        Tools = [],
        StateDirectory = "/var/lib/vmps",
        Problems = [],
    };
}
