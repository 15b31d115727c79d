using System.Formats.Tar;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Core.Agent;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Protocol.Files;

/// <summary>The extractor the host runs on a guest's tar stream (and the agent on the host's): untrusted input.</summary>
public sealed class TarTreeExtractorTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly string destination;

    public TarTreeExtractorTests()
    {
        destination = scratch.Combine("dest");
        Directory.CreateDirectory(destination);
    }

    public void Dispose() => scratch.Dispose();

    [Theory]
    [InlineData("a/b/../../../up", "contains '..'")]
    [InlineData("/abs", "absolute path")]
    public void Names_that_leave_the_destination_are_refused(string name, string reason)
    {
        var error = Assert.Throws<FileOperationException>(() => TarTreeExtractor.SplitEntryName(name));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Names_longer_than_the_file_system_takes_are_refused()
    {
        Assert.Equal(FileErrorCodes.InvalidArchive, Assert.Throws<FileOperationException>(() => TarTreeExtractor.SplitEntryName(new string('a', 256))).Code);
        Assert.Equal(FileErrorCodes.InvalidArchive, Assert.Throws<FileOperationException>(() => TarTreeExtractor.SplitEntryName(string.Join('/', Enumerable.Repeat("abc", 1100)))).Code);
        Assert.Equal(["a", "b"], TarTreeExtractor.SplitEntryName(".//a/./b/"));
    }

    [Fact]
    public async Task A_chain_of_links_the_stream_makes_cannot_carry_a_write_outside()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy"),
            FileTrees.FileEntry("copy/ok.txt", "fine"),
            FileTrees.LinkEntry("copy/a", "."),
            FileTrees.LinkEntry("copy/b", "a/a/../../.."),
            FileTrees.FileEntry("copy/b/planted", "evil"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Equal("fine", File.ReadAllText(Path.Combine(destination, "copy", "ok.txt")));
        Assert.Equal(["dest"], Directory.EnumerateFileSystemEntries(scratch.Path).Select(Path.GetFileName));
        Assert.Equal(["copy"], Directory.EnumerateFileSystemEntries(destination).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_link_inside_the_tree_cannot_lead_a_write_into_the_destination_beside_it()
    {
        using var archive = FileTrees.Tar(DirectoryEntry("copy"), FileTrees.LinkEntry("copy/up", ".."), FileTrees.FileEntry("copy/up/beside", "evil"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.False(File.Exists(Path.Combine(destination, "beside")));
    }

    public static TheoryData<string, TarEntry[]> EntriesBesideTheRequestedOne => new()
    {
        { "a sibling of the root", [DirectoryEntry("copy"), FileTrees.FileEntry("copy/ok", "x"), FileTrees.FileEntry(".ssh/authorized_keys", "ssh-ed25519 evil")] },
        { "an entry before the root", [FileTrees.FileEntry("copy/early", "x"), DirectoryEntry("copy")] },
        { "the root twice", [FileTrees.FileEntry("copy", "x"), FileTrees.FileEntry("copy", "y")] },
        { "entries below a file root", [FileTrees.FileEntry("copy", "x"), FileTrees.FileEntry("copy/more", "y")] },
        { "a link as the root", [FileTrees.LinkEntry("copy", "/etc")] },
        { "nothing", [] },
    };

    [Theory]
    [MemberData(nameof(EntriesBesideTheRequestedOne))]
    public async Task Only_the_requested_entry_and_the_tree_below_it_are_written(string what, TarEntry[] entries)
    {
        using var archive = FileTrees.Tar(entries);

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.True(error.Code == FileErrorCodes.UnexpectedEntry, $"{what}: {error.Code} {error.Message}");
        Assert.False(Directory.Exists(Path.Combine(destination, ".ssh")), what);
        Assert.False(File.Exists(Path.Combine(destination, "copy", "early")), what);
    }

    [Fact]
    public async Task A_tree_is_refused_where_a_file_was_asked_for()
    {
        using var archive = FileTrees.Tar(DirectoryEntry("copy"), FileTrees.FileEntry("copy/x", "x"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy", AllowTree = false }));

        Assert.Equal(FileErrorCodes.UnexpectedEntry, error.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(destination));
    }

    [Theory]
    [InlineData(TarEntryType.CharacterDevice)]
    [InlineData(TarEntryType.BlockDevice)]
    [InlineData(TarEntryType.Fifo)]
    [InlineData(TarEntryType.HardLink)]
    public async Task Devices_fifos_and_hard_links_are_refused_before_anything_of_them_is_written(TarEntryType type)
    {
        var special = new PaxTarEntry(type, "copy/special");
        if (type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            (special.DeviceMajor, special.DeviceMinor) = (1, 3);
        }
        else if (type == TarEntryType.HardLink)
        {
            special.LinkName = "/etc/shadow";
        }

        using var archive = FileTrees.Tar(DirectoryEntry("copy"), special);

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.UnsupportedEntry, error.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(destination, "copy")));
    }

    [Fact]
    public async Task By_default_entries_belong_to_the_invoker_without_set_id_or_sticky_bits_and_with_the_umask()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy", "7777", uid: 1234),
            FileEntry("copy/suid", "6755", uid: 0),
            FileEntry("copy/open", "0777", uid: 1234));

        await ExtractAsync(archive, new TarExtractOptions { RootName = "copy" });

        var umask = UnixDirectoryCalls.CurrentUmask();
        var directory = UnixFileSystem.GetStatus(Path.Combine(destination, "copy"));
        var suid = UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "suid"));
        var open = UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "open"));
        Assert.Equal(Octal(0x1FF & ~(int)umask), Octal(directory.Mode));
        Assert.Equal(Octal(0x1ED & ~(int)umask), Octal(suid.Mode));
        Assert.Equal(Octal(0x1FF & ~(int)umask), Octal(open.Mode));
        var (uid, gid) = Invoker();
        Assert.All(new[] { directory, suid, open }, status => Assert.Equal((uid, gid), (status.Uid, status.Gid)));
    }

    [RequiresRootAndProgramsFact]
    public async Task Preserving_ownership_keeps_owners_and_modes_but_never_set_id_bits()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy", "1777", uid: 1234),
            FileEntry("copy/suid", "6750", uid: 0),
            FileEntry("copy/mine", "0640", uid: 1234));

        await ExtractAsync(archive, new TarExtractOptions { RootName = "copy", Modes = ExtractedModes.OwnerAndModeWithoutSetId });

        var directory = UnixFileSystem.GetStatus(Path.Combine(destination, "copy"));
        var suid = UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "suid"));
        var mine = UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "mine"));
        Assert.Equal(("1777", 1234, 1234), (Octal(directory.Mode), directory.Uid, directory.Gid));
        Assert.Equal(("750", 0, 0), (Octal(suid.Mode), suid.Uid, suid.Gid));
        Assert.Equal(("640", 1234, 1234), (Octal(mine.Mode), mine.Uid, mine.Gid));
    }

    [Fact]
    public async Task Exact_modes_keep_set_id_bits_for_the_users_own_files_going_into_a_guest()
    {
        using var archive = FileTrees.Tar(FileEntry("suid", "4755", uid: 0));

        await ExtractAsync(archive, new TarExtractOptions { Modes = ExtractedModes.ExactMode });

        Assert.Equal("4755", Octal(UnixFileSystem.GetStatus(Path.Combine(destination, "suid")).Mode));
    }

    [Fact]
    public async Task Read_only_directories_and_their_times_are_applied_once_their_entries_are_written()
    {
        var time = FileTrees.FixedTime;
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy", "0555", time: time),
            DirectoryEntry("copy/sub", "0500", time: time),
            FileEntry("copy/sub/file", "0444", time: time),
            DirectoryEntry("copy/other", "0755", time: time),
            FileEntry("copy/other/file", "0644", time: time));

        var result = await ExtractAsync(archive, new TarExtractOptions { RootName = "copy", Modes = ExtractedModes.ExactMode });

        Assert.Equal((5, 14L), (result.Entries, result.Bytes));
        Assert.Equal(("555", time), (Octal(UnixFileSystem.GetStatus(Path.Combine(destination, "copy")).Mode), UnixFileSystem.GetStatus(Path.Combine(destination, "copy")).LastWriteTimeUtc));
        Assert.Equal(("500", time), (Octal(UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "sub")).Mode), UnixFileSystem.GetStatus(Path.Combine(destination, "copy", "sub")).LastWriteTimeUtc));
        foreach (var path in new[] { "copy", "copy/sub", "copy/other" })
        {
            UnixFileSystem.SetMode(Path.Combine(destination, path), (UnixFileMode)0x1FF);
        }
    }

    [Fact]
    public async Task Links_that_stay_inside_the_tree_are_kept()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy"),
            DirectoryEntry("copy/sub"),
            FileTrees.LinkEntry("copy/sub/data", "../file"),
            FileTrees.LinkEntry("copy/later", "sub/made-later"),
            FileTrees.FileEntry("copy/file", "x"),
            FileTrees.FileEntry("copy/sub/made-later", "y"));

        await ExtractAsync(archive, new TarExtractOptions { RootName = "copy" });

        Assert.Equal("../file", new FileInfo(Path.Combine(destination, "copy", "sub", "data")).LinkTarget);
        Assert.Equal("y", File.ReadAllText(Path.Combine(destination, "copy", "later")));
    }

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("..")]
    [InlineData("a/a/../../etc")]
    [InlineData("a/../../../outside")]
    public async Task Links_the_file_system_resolves_outside_the_tree_are_refused_and_not_kept(string target)
    {
        using var archive = FileTrees.Tar(DirectoryEntry("copy"), FileTrees.LinkEntry("copy/a", "."), FileTrees.LinkEntry("copy/b", target));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Null(UnixFileSystem.TryGetStatus(Path.Combine(destination, "copy", "b")));
    }

    [Fact]
    public async Task A_link_that_dangles_while_written_is_checked_again_at_the_end()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy"),
            FileTrees.LinkEntry("copy/late", "missing/../../.."),
            DirectoryEntry("copy/missing"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Null(UnixFileSystem.TryGetStatus(Path.Combine(destination, "copy", "late")));
    }

    [Fact]
    public async Task A_link_that_dangles_while_written_is_removed_when_a_later_entry_fails_after_giving_it_a_way_out()
    {
        using var archive = FileTrees.Tar(
            DirectoryEntry("copy"),
            FileTrees.LinkEntry("copy/late", "missing/../../.."),
            DirectoryEntry("copy/missing"),
            FileTrees.LinkEntry("copy/refused", "/etc/shadow"));

        var error = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(archive, new TarExtractOptions { RootName = "copy" }));

        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Contains("'copy/refused'", error.Message);
        Assert.True(Directory.Exists(Path.Combine(destination, "copy", "missing")));
        Assert.Null(UnixFileSystem.TryGetStatus(Path.Combine(destination, "copy", "late")));
    }

    [Fact]
    public async Task Existing_files_are_kept_without_overwrite_and_replaced_with_it()
    {
        File.WriteAllText(Path.Combine(destination, "f"), "old");

        var kept = await Assert.ThrowsAsync<FileOperationException>(() => ExtractAsync(FileTrees.Tar(FileTrees.FileEntry("f", "new")), new TarExtractOptions()));
        var oldContent = File.ReadAllText(Path.Combine(destination, "f"));
        var result = await ExtractAsync(FileTrees.Tar(FileTrees.FileEntry("f", "new")), new TarExtractOptions { Overwrite = true });

        Assert.Equal((FileErrorCodes.Exists, "old"), (kept.Code, oldContent));
        Assert.Equal(("new", 1, 3L), (File.ReadAllText(Path.Combine(destination, "f")), result.Entries, result.Bytes));
        Assert.Single(Directory.EnumerateFileSystemEntries(destination));
    }

    [Fact]
    public async Task The_hosts_own_links_that_leave_the_tree_are_kept_but_nothing_is_written_through_them()
    {
        var outside = scratch.Combine("outside");
        Directory.CreateDirectory(outside);
        using var kept = FileTrees.Tar(DirectoryEntry("venv"), FileTrees.LinkEntry("venv/python", "/usr/bin/python3"), FileTrees.LinkEntry("venv/up", "../../outside"));
        await ExtractAsync(kept, new TarExtractOptions { RootName = "venv", KeepLinksLeavingTree = true, Modes = ExtractedModes.ExactMode });

        using var through = FileTrees.Tar(DirectoryEntry("venv"), FileTrees.FileEntry("venv/up/planted", "evil"));
        var error = await Assert.ThrowsAsync<FileOperationException>(() =>
            ExtractAsync(through, new TarExtractOptions { RootName = "venv", KeepLinksLeavingTree = true, Overwrite = true, Modes = ExtractedModes.ExactMode }));

        Assert.Equal("/usr/bin/python3", new FileInfo(Path.Combine(destination, "venv", "python")).LinkTarget);
        Assert.Equal("../../outside", new FileInfo(Path.Combine(destination, "venv", "up")).LinkTarget);
        Assert.Equal(FileErrorCodes.PathEscape, error.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    internal static PaxTarEntry DirectoryEntry(string name, string octalMode = "0755", int uid = 0, DateTimeOffset? time = null) =>
        new(TarEntryType.Directory, name) { Mode = (UnixFileMode)Convert.ToInt32(octalMode, 8), Uid = uid, Gid = uid, ModificationTime = time ?? FileTrees.FixedTime };

    internal static PaxTarEntry FileEntry(string name, string octalMode, int uid = 0, DateTimeOffset? time = null)
    {
        var entry = FileTrees.FileEntry(name, "content");
        entry.Mode = (UnixFileMode)Convert.ToInt32(octalMode, 8);
        entry.Uid = uid;
        entry.Gid = uid;
        entry.ModificationTime = time ?? FileTrees.FixedTime;
        return entry;
    }

    private async Task<TarExtractResult> ExtractAsync(Stream archive, TarExtractOptions options)
    {
        using var destination = ConfinedDirectory.Open(this.destination, Confinement.Beneath);
        return await TarTreeExtractor.ExtractAsync(archive, destination, options, default);
    }

    private (int Uid, int Gid) Invoker()
    {
        var probe = Path.Combine(scratch.Path, "probe");
        File.WriteAllText(probe, "");
        var status = UnixFileSystem.GetStatus(probe);
        return (status.Uid, status.Gid);
    }

    private static string Octal(int mode) => Convert.ToString(mode, 8);
}
