using System.Globalization;
using VmPs.Core;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.State;
using VmPs.Core.Storage;
using VmPs.Core.Vms;
using VmPs.Core.Volumes;
using VmPs.Tests.Core.State;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Volumes;

/// <summary>Volumes against real mkfs.ext4, qemu-img, debugfs and tar, in a scratch VMPS_HOME with VM rows (no boots).</summary>
public sealed class VolumeManagerTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly TemporaryVmPsHome home = new();
    private readonly ScratchDirectory scratch = new();
    private StateDatabase? database;

    public void Dispose()
    {
        scratch.Dispose();
        home.Dispose();
    }

    [RequiresProgramFact("mkfs.ext4", "debugfs")]
    public async Task An_ext4_volume_from_a_directory_holds_its_files_in_a_private_sparse_file()
    {
        var source = Directory.CreateDirectory(scratch.Combine("site")).FullName;
        await File.WriteAllTextAsync(Path.Combine(source, "index.html"), "hello from the host");
        Directory.CreateDirectory(Path.Combine(source, "docs"));
        await File.WriteAllTextAsync(Path.Combine(source, "docs", "a.txt"), "nested");
        var volumes = await ManagerAsync();

        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "site", SizeBytes = 64 * MiB, FromPath = source }, CancellationToken.None);

        Assert.Equal(64 * MiB, volume.SizeBytes);
        Assert.Equal(VolumeFormat.Ext4, volume.Format);
        Assert.Equal(DiskImageFormat.Raw, volume.DiskFormat);
        Assert.Empty(volume.AttachedTo);
        Assert.InRange(volume.AllocatedBytes, 1, 16 * MiB);
        Assert.Equal("hello from the host", await DebugfsCatAsync(volume.Path, "/index.html"));
        Assert.Equal("nested", await DebugfsCatAsync(volume.Path, "/docs/a.txt"));
        Assert.Equal("600", await StatAsync("%a", volume.Path));
        Assert.Equal("700", await StatAsync("%a", Path.GetDirectoryName(volume.Path)!));
        Assert.Equal(volume.Id, (await volumes.GetAsync("SITE", CancellationToken.None)).Id);
    }

    [RequiresRootAndProgramsFact("mkfs.ext4", "debugfs", "tar")]
    public async Task An_archive_is_staged_through_the_bounded_reader_with_owners_kept_and_leaves_no_staging()
    {
        var tree = Directory.CreateDirectory(scratch.Combine("tree")).FullName;
        await File.WriteAllTextAsync(Path.Combine(tree, "data.txt"), "from an archive");
        var archive = scratch.Combine("seed.tar.gz");
        await ExternalTool.RunCheckedAsync("tar", ["-C", tree, "--owner=1234", "--group=2345", "-czf", archive, "."], CancellationToken.None);
        var volumes = await ManagerAsync();

        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "seed", SizeBytes = 32 * MiB, FromPath = archive }, CancellationToken.None);

        Assert.Equal("from an archive", await DebugfsCatAsync(volume.Path, "/data.txt"));
        var stat = (await ExternalTool.RunCheckedAsync("debugfs", ["-R", "stat /data.txt", volume.Path], CancellationToken.None)).StandardOutput;
        Assert.Matches(@"User:\s+1234\s+Group:\s+2345", stat);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(VolumesDirectory), entry => Path.GetFileName(entry).StartsWith(".staging", StringComparison.Ordinal));
    }

    [RequiresProgramFact("mkfs.ext4", "tar")]
    public async Task A_hostile_archive_fails_with_a_specific_error_and_leaves_nothing()
    {
        var tree = Directory.CreateDirectory(scratch.Combine("evil")).FullName;
        await File.WriteAllTextAsync(Path.Combine(tree, "escape"), "x");
        var archive = scratch.Combine("evil.tar");
        await ExternalTool.RunCheckedAsync("tar", ["-C", tree, "--transform=s,^,../../,", "-cPf", archive, "escape"], CancellationToken.None);
        var volumes = await ManagerAsync();

        var error = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = "evil", SizeBytes = 32 * MiB, FromPath = archive }, CancellationToken.None));

        Assert.Equal("VolumeSourceInvalid", error.ErrorId);
        await AssertNothingLeftAsync(volumes);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task A_size_below_the_content_is_refused_and_leaves_nothing()
    {
        var source = Directory.CreateDirectory(scratch.Combine("big")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(source, "blob"), Enumerable.Repeat((byte)1, (int)(24 * MiB)).ToArray());
        var volumes = await ManagerAsync();

        var error = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = "small", SizeBytes = 16 * MiB, FromPath = source }, CancellationToken.None));

        Assert.Equal("VolumeTooSmall", error.ErrorId);
        Assert.Equal(VmPsErrorKind.InvalidArgument, error.Kind);
        await AssertNothingLeftAsync(volumes);
    }

    [Theory]
    [InlineData("bad name", 64, null, "InvalidVolumeName")]
    [InlineData("ok", 1, null, "VolumeSizeOutOfRange")]
    [InlineData("ok", 64, "/nonexistent/dir", "VolumeSourceNotFound")]
    public async Task Bad_input_gets_its_own_error_and_leaves_nothing(string name, int sizeMiB, string? fromPath, string errorId)
    {
        var volumes = await ManagerAsync();

        var error = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = name, SizeBytes = sizeMiB * MiB, FromPath = fromPath }, CancellationToken.None));

        Assert.Equal(errorId, error.ErrorId);
        await AssertNothingLeftAsync(volumes);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task A_duplicate_name_in_any_case_is_refused_and_a_raw_volume_takes_no_source()
    {
        var volumes = await ManagerAsync();
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "Data", SizeBytes = 16 * MiB }, CancellationToken.None);

        var duplicate = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(new VolumeCreateOptions { Name = "dATA", SizeBytes = 16 * MiB }, CancellationToken.None));
        var raw = await Assert.ThrowsAsync<VmPsException>(() => volumes.CreateAsync(
            new VolumeCreateOptions { Name = "raw", SizeBytes = 16 * MiB, Format = VolumeFormat.Raw, FromPath = scratch.Path }, CancellationToken.None));

        Assert.Equal("VolumeNameInUse", duplicate.ErrorId);
        Assert.Equal("VolumeSourceNeedsFilesystem", raw.ErrorId);
        Assert.Single(await volumes.GetAllAsync(CancellationToken.None));
    }

    [RequiresProgramFact("mkfs.ext4", "qemu-img", "debugfs")]
    public async Task A_qcow2_volume_holds_an_ext4_filesystem_with_the_content()
    {
        var source = Directory.CreateDirectory(scratch.Combine("q")).FullName;
        await File.WriteAllTextAsync(Path.Combine(source, "f"), "in qcow2");
        var volumes = await ManagerAsync();

        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "q", SizeBytes = 64 * MiB, Format = VolumeFormat.Qcow2, FromPath = source }, CancellationToken.None);

        Assert.Equal(DiskImageFormat.Qcow2, volume.DiskFormat);
        Assert.Equal(64 * MiB, (await QemuImage.InfoAsync(volume.Path, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
        Assert.Equal("600", await StatAsync("%a", volume.Path));
        Assert.Equal("in qcow2", await DebugfsCatAsync(await FlattenAsync(volume.Path), "/f"));
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task A_writable_volume_has_one_VM_a_read_only_one_many_and_mount_paths_are_checked()
    {
        var volumes = await ManagerAsync();
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "shared", SizeBytes = 16 * MiB }, CancellationToken.None);
        await InsertVmsAsync("a", "b", "c");

        await volumes.MountAsync("a", new VolumeAttachOptions("shared", "/srv/data"), CancellationToken.None);
        Assert.Equal("VolumeAttachedWritable", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("b", new VolumeAttachOptions("shared", "/data", ReadOnly: true), CancellationToken.None))).ErrorId);
        Assert.Equal("VolumeAlreadyAttached", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("a", new VolumeAttachOptions("shared", "/other"), CancellationToken.None))).ErrorId);

        await volumes.DismountAsync("a", "shared", force: false, CancellationToken.None);
        await volumes.MountAsync("a", new VolumeAttachOptions("shared", "/data", ReadOnly: true), CancellationToken.None);
        var both = await volumes.MountAsync("b", new VolumeAttachOptions("shared", "/data", ReadOnly: true), CancellationToken.None);
        Assert.Equal(["a", "b"], both.AttachedTo.Order());
        Assert.Equal("VolumeAttachedReadOnly", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("c", new VolumeAttachOptions("shared", "/data"), CancellationToken.None))).ErrorId);

        Assert.Equal("ReservedMountPath", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("c", new VolumeAttachOptions("shared", "/proc/x"), CancellationToken.None))).ErrorId);
        Assert.Equal("InvalidMountPath", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("c", new VolumeAttachOptions("shared", "srv"), CancellationToken.None))).ErrorId);
        Assert.Equal("InvalidMountPath", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("c", new VolumeAttachOptions("shared", "/srv/../etc"), CancellationToken.None))).ErrorId);
        Assert.Equal("VolumeNotAttached", (await Assert.ThrowsAsync<VmPsException>(() => volumes.DismountAsync("c", "shared", force: false, CancellationToken.None))).ErrorId);
        Assert.Equal("VmNotFound", (await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("nobody", new VolumeAttachOptions("shared", "/x"), CancellationToken.None))).ErrorId);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task Two_sessions_attaching_one_writable_volume_at_once_cannot_both_win()
    {
        var first = await ManagerAsync();
        var second = new VmManager(home.Paths).Volumes;
        await first.CreateAsync(new VolumeCreateOptions { Name = "contended", SizeBytes = 16 * MiB }, CancellationToken.None);
        var names = Enumerable.Range(0, 8).Select(i => $"vm{i}").ToArray();
        await InsertVmsAsync(names);

        var attempts = names.Select((name, index) => Task.Run(async () =>
        {
            try
            {
                await (index % 2 == 0 ? first : second).MountAsync(name, new VolumeAttachOptions("contended", "/data"), CancellationToken.None);
                return true;
            }
            catch (VmPsException error) when (error.ErrorId == "VolumeAttachedWritable")
            {
                return false;
            }
        }));

        Assert.Single(await Task.WhenAll(attempts), won => won);
        Assert.Single((await first.GetAsync("contended", CancellationToken.None)).AttachedTo);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task Removing_an_attached_volume_needs_Force_which_detaches_it_and_removing_the_VM_releases_it()
    {
        var volumes = await ManagerAsync();
        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "keep", SizeBytes = 16 * MiB }, CancellationToken.None);
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "other", SizeBytes = 16 * MiB }, CancellationToken.None);
        var vm = (await InsertVmsAsync("web"))[0];
        await volumes.MountAsync("web", new VolumeAttachOptions("keep", "/keep"), CancellationToken.None);
        await volumes.MountAsync("web", new VolumeAttachOptions("other", "/other"), CancellationToken.None);

        var refused = await Assert.ThrowsAsync<VmPsException>(() => volumes.RemoveAsync("keep", force: false, CancellationToken.None));
        Assert.Equal("VolumeAttached", refused.ErrorId);
        Assert.True(File.Exists(volume.Path));

        await volumes.RemoveAsync("keep", force: true, CancellationToken.None);
        Assert.False(File.Exists(volume.Path));
        Assert.Equal("VolumeNotFound", (await Assert.ThrowsAsync<VmPsException>(() => volumes.GetAsync("keep", CancellationToken.None))).ErrorId);

        await new VmStore(database!).DeleteAsync(vm.Id, _ => { }, CancellationToken.None);
        Assert.Empty((await volumes.GetAsync("other", CancellationToken.None)).AttachedTo);
    }

    [RequiresProgramFact("mkfs.ext4", "qemu-img", "qemu-io", "debugfs")]
    public async Task A_copy_without_reflinks_shares_a_frozen_base_allocates_almost_nothing_and_diverges()
    {
        var source = Directory.CreateDirectory(scratch.Combine("c")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(source, "payload"), Enumerable.Range(0, (int)(8 * MiB)).Select(i => (byte)(i * 7)).ToArray());
        var volumes = await ManagerAsync();
        var original = await volumes.CreateAsync(new VolumeCreateOptions { Name = "orig", SizeBytes = 64 * MiB, FromPath = source }, CancellationToken.None);
        if (FileCopy.TryReflink(original.Path, scratch.Combine("probe")))
        {
            Assert.Fail("this test is for a file system without reflinks (FileCopyTests covers XFS)");
        }

        var result = await volumes.CopyAsync("orig", "copy", CancellationToken.None);

        Assert.Equal(CopyMethod.BackingFile, result.Method);
        var frozen = await volumes.GetAsync("orig", CancellationToken.None);
        Assert.Equal(frozen.BackingFile, result.Volume.BackingFile);
        Assert.Equal(DiskImageFormat.Qcow2, result.Volume.DiskFormat);
        Assert.True(result.Volume.AllocatedBytes < MiB, $"the copy allocates {result.Volume.AllocatedBytes} bytes");
        Assert.Equal("400", await StatAsync("%a", result.Volume.BackingFile!));
        Assert.False(File.Exists(original.Path));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(source, "payload")), await DebugfsReadAsync(await FlattenAsync(result.Volume.Path), "/payload"));

        await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 0 4M", frozen.Path], CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(source, "payload")), await DebugfsReadAsync(await FlattenAsync(result.Volume.Path), "/payload"));

        await volumes.RemoveAsync("orig", force: false, CancellationToken.None);
        Assert.True(File.Exists(result.Volume.BackingFile), "the base stays while the copy reads from it");
        await volumes.RemoveAsync("copy", force: false, CancellationToken.None);
        Assert.False(File.Exists(result.Volume.BackingFile), "the last volume over the base took it along");
    }

    [RequiresProgramFact("mkfs.ext4", "qemu-img")]
    public async Task A_copy_that_fails_at_its_commit_or_its_start_leaves_the_source_as_it_was_and_nothing_else()
    {
        var volumes = await ManagerAsync();
        var original = await volumes.CreateAsync(new VolumeCreateOptions { Name = "orig", SizeBytes = 16 * MiB }, CancellationToken.None);
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "taken", SizeBytes = 16 * MiB }, CancellationToken.None);
        var files = Directory.EnumerateFiles(VolumesDirectory, "*", SearchOption.AllDirectories).Order().ToList();
        await using (var connection = await database!.OpenAsync(CancellationToken.None))
        {
            // The commit is the last step of a copy without reflinks: both qcow2 files and the base link exist by then.
            await connection.ExecuteAsync("CREATE TRIGGER refuse_bases BEFORE INSERT ON volume_bases BEGIN SELECT RAISE(ABORT, 'injected'); END;", CancellationToken.None);
        }

        var injected = await Assert.ThrowsAnyAsync<Exception>(() => volumes.CopyAsync("orig", "copy", CancellationToken.None));
        var taken = await Assert.ThrowsAsync<VmPsException>(() => volumes.CopyAsync("orig", "TAKEN", CancellationToken.None));

        Assert.Contains("injected", injected.Message, StringComparison.Ordinal);
        Assert.Equal("VolumeNameInUse", taken.ErrorId);
        Assert.Equal(files, Directory.EnumerateFiles(VolumesDirectory, "*", SearchOption.AllDirectories).Order().ToList());
        var source = Assert.Single(await volumes.Store.GetAllAsync(CancellationToken.None), volume => volume.Name == "orig");
        Assert.Equal((VolumeState.Ready, original.Path, DiskImageFormat.Raw), (source.State, source.Path, source.DiskFormat));
        Assert.Null(source.Session);
        Assert.Equal(["orig", "taken"], (await volumes.GetAllAsync(CancellationToken.None)).Select(volume => volume.Name));
    }

    [RequiresProgramFact("mkfs.ext4", "resize2fs", "e2fsck", "dumpe2fs")]
    public async Task Resize_grows_the_file_and_its_filesystem_and_never_shrinks()
    {
        var volumes = await ManagerAsync();
        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "grow", SizeBytes = 32 * MiB }, CancellationToken.None);
        var before = await BlockCountAsync(volume.Path);

        var grown = await volumes.ResizeAsync("grow", 128 * MiB, CancellationToken.None);

        Assert.Equal(128 * MiB, grown.SizeBytes);
        Assert.Equal(128 * MiB, new FileInfo(volume.Path).Length);
        Assert.True(await BlockCountAsync(volume.Path) >= before * 3, "the filesystem grew with its file");
        var shrink = await Assert.ThrowsAsync<VmPsException>(() => volumes.ResizeAsync("grow", 64 * MiB, CancellationToken.None));
        Assert.Equal("VolumeShrinkNotSupported", shrink.ErrorId);
    }

    [RequiresProgramFact("mkfs.ext4")]
    public async Task A_session_killed_while_creating_is_repaired_by_the_next_command()
    {
        var volumes = await ManagerAsync();
        var dead = new ProcessIdentity(int.MaxValue - 1, 1);
        var id = Guid.NewGuid();
        var orphan = Path.Combine(VolumesDirectory, $"{id:N}.img");
        Directory.CreateDirectory(VolumesDirectory);
        await volumes.Store.InsertAsync(
            new VolumeRecord
            {
                Id = id, Name = "half", Format = VolumeFormat.Ext4, DiskFormat = DiskImageFormat.Raw, SizeBytes = 16 * MiB,
                Path = orphan, State = VolumeState.Creating, Session = dead, CreatedAt = DateTimeOffset.UtcNow,
            },
            CancellationToken.None);
        await File.WriteAllTextAsync(orphan, "half-built");
        var stray = Path.Combine(VolumesDirectory, "stray.qcow2");
        await File.WriteAllTextAsync(stray, "left by a killed copy");

        await volumes.CreateAsync(new VolumeCreateOptions { Name = "half", SizeBytes = 16 * MiB }, CancellationToken.None);

        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(stray));
        Assert.Single(await volumes.GetAllAsync(CancellationToken.None));
    }

    [RequiresProgramFact("qemu-img")]
    public async Task A_session_killed_while_resizing_is_repaired_to_the_size_its_file_has()
    {
        var volumes = await ManagerAsync();
        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "cow", SizeBytes = 16 * MiB, Format = VolumeFormat.Qcow2 }, CancellationToken.None);
        // What a resize killed after its claim leaves: the new size recorded, the file not grown.
        await volumes.Store.UpdateAsync(
            volume.Id,
            (current, _) => current with { State = VolumeState.Resizing, Session = new ProcessIdentity(int.MaxValue - 1, 1), SizeBytes = 64 * MiB },
            CancellationToken.None);

        await volumes.CreateAsync(new VolumeCreateOptions { Name = "next", SizeBytes = 16 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        var repaired = await volumes.GetAsync("cow", CancellationToken.None);
        var grown = await volumes.ResizeAsync("cow", 64 * MiB, CancellationToken.None);

        Assert.Equal(16 * MiB, repaired.SizeBytes);
        Assert.Equal(64 * MiB, grown.SizeBytes);
        Assert.Equal(64 * MiB, (await QemuImage.InfoAsync(volume.Path, DiskImageFormat.Qcow2, CancellationToken.None)).VirtualSizeBytes);
    }

    [Fact]
    public async Task A_volume_being_removed_cannot_be_attached_and_a_removal_killed_before_its_row_went_is_finished()
    {
        var volumes = await ManagerAsync();
        var volume = await volumes.CreateAsync(new VolumeCreateOptions { Name = "going", SizeBytes = 16 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);
        await InsertVmsAsync("web");
        await volumes.Store.UpdateAsync(volume.Id, (current, _) => current with { State = VolumeState.Removing, Session = ProcessProbe.Current() }, CancellationToken.None);

        var busy = await Assert.ThrowsAsync<VmPsException>(() => volumes.MountAsync("web", new VolumeAttachOptions("going", "/srv"), CancellationToken.None));

        Assert.Equal(VmPsErrorIds.VolumeBusy, busy.ErrorId);
        Assert.Equal("Volume 'going' is busy: another session is removing it.", busy.Message);

        // What a removal killed after deleting the file leaves: the claim of a dead session.
        File.Delete(volume.Path);
        await volumes.Store.UpdateAsync(volume.Id, (current, _) => current with { Session = new ProcessIdentity(int.MaxValue - 1, 1) }, CancellationToken.None);
        await volumes.CreateAsync(new VolumeCreateOptions { Name = "next", SizeBytes = 16 * MiB, Format = VolumeFormat.Raw }, CancellationToken.None);

        Assert.Equal(["next"], (await volumes.GetAllAsync(CancellationToken.None)).Select(kept => kept.Name));
    }

    private string VolumesDirectory => Path.Combine(home.Paths.Root, "volumes");

    private async Task<VolumeManager> ManagerAsync()
    {
        database = await StoreFixtures.DatabaseWithImageAsync(home.Paths.StateDatabase);
        return new VmManager(home.Paths).Volumes;
    }

    private async Task<IReadOnlyList<VmRecord>> InsertVmsAsync(params string[] names)
    {
        var store = new VmStore(database!);
        var inserted = new List<VmRecord>();
        foreach (var name in names)
        {
            inserted.Add(await store.InsertAsync(StoreFixtures.Vm(name), CancellationToken.None));
        }

        return inserted;
    }

    private async Task AssertNothingLeftAsync(VolumeManager volumes)
    {
        Assert.Empty(await volumes.GetAllAsync(CancellationToken.None));
        Assert.Empty(Directory.Exists(VolumesDirectory)
            ? Directory.EnumerateFileSystemEntries(VolumesDirectory).Where(entry => Path.GetFileName(entry) is not ".lock" and not "bases")
            : []);
    }

    private async Task<string> FlattenAsync(string qcow2)
    {
        var raw = scratch.Combine(Guid.NewGuid().ToString("N") + ".img");
        await QemuImage.ConvertAsync(qcow2, DiskImageFormat.Qcow2, raw, DiskImageFormat.Raw, CancellationToken.None);
        return raw;
    }

    private static async Task<string> DebugfsCatAsync(string image, string path) =>
        (await ExternalTool.RunCheckedAsync("debugfs", ["-R", $"cat {path}", image], CancellationToken.None)).StandardOutput;

    private async Task<byte[]> DebugfsReadAsync(string image, string path)
    {
        var output = scratch.Combine(Guid.NewGuid().ToString("N"));
        await ExternalTool.RunCheckedAsync("debugfs", ["-R", $"dump {path} {output}", image], CancellationToken.None);
        return await File.ReadAllBytesAsync(output);
    }

    private static async Task<string> StatAsync(string format, string path) =>
        (await ExternalTool.RunCheckedAsync("stat", ["-c", format, path], CancellationToken.None)).StandardOutput.Trim();

    private static async Task<long> BlockCountAsync(string image)
    {
        var superblock = (await ExternalTool.RunCheckedAsync("dumpe2fs", ["-h", image], CancellationToken.None)).StandardOutput;
        var line = superblock.Split('\n').First(l => l.StartsWith("Block count:", StringComparison.Ordinal));
        return long.Parse(line["Block count:".Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
