using System.Formats.Tar;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;
using static VmPs.Tests.Core.Agent.HostileFileScript;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// Copy-VmFile's code paths (AgentFileClient: stat, list, read, copies out of the guest) against a hostile agent
/// that speaks the real protocol: every malformed or oversized reply is refused with a specific error, and nothing
/// is ever written outside the destination the user named, nor with a special mode bit.
/// </summary>
public sealed class HostileGuestFileTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    /// <summary>A hostile reply, what the host is asked to do with it, and the errors that refuse it.</summary>
    private sealed record HostileCase(string Name, HostileFileScript Script, Func<AgentFileClient, CopyPaths, Task> Drive, params string[] RefusedWith);

    /// <summary>The scratch layout of one case: the destination the user named, and a sibling nothing may reach.</summary>
    private sealed record CopyPaths(string Scratch, string Destination, string Outside);

    [Fact]
    public async Task Every_hostile_file_reply_is_refused_with_a_specific_error_and_nothing_lands_outside_the_destination()
    {
        var failures = new List<string>();
        var cases = 0;
        foreach (var hostile in Cases(SampleOutside))
        {
            cases++;
            using var scratch = new ScratchDirectory();
            var paths = Layout(scratch);
            var script = Cases(paths.Outside).Single(candidate => candidate.Name == hostile.Name);
            await using var agent = new HostileAgent(script.Script);
            await using var client = await AgentClient.ConnectAsync(agent.Connector, ReplyTimeout, default);
            try
            {
                await script.Drive(new AgentFileClient(client), paths).WaitAsync(HangGuard);
                failures.Add($"{hostile.Name}: accepted");
            }
            catch (VmPsException error) when (script.RefusedWith.Contains(error.ErrorId))
            {
                output.WriteLine($"refused  {hostile.Name}: {error.ErrorId}: {error.Message}");
            }
            catch (Exception error)
            {
                failures.Add($"{hostile.Name}: {error.GetType().Name} {(error as VmPsException)?.ErrorId} {error.Message}");
            }

            failures.AddRange(Escapes(paths).Select(escape => $"{hostile.Name}: {escape}"));
        }

        output.WriteLine($"Hostile guest file replies: {cases} tried, {cases - failures.Count} refused with a specific error and nothing outside the destination.");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task The_name_in_a_stat_reply_is_ignored_the_copy_lands_where_the_user_asked()
    {
        using var scratch = new ScratchDirectory();
        var paths = Layout(scratch);
        await using var agent = new HostileAgent(new HostileFileScript { Stat = PlainFile("authorized_keys") });
        await using var client = await AgentClient.ConnectAsync(agent.Connector, ReplyTimeout, default);

        var result = await CopyOutAsync(new AgentFileClient(client), "/srv/file.txt", paths.Destination + "/", recurse: false);

        Assert.Equal(Path.Combine(paths.Destination, "file.txt"), result.Destination);
        Assert.Equal(["file.txt"], Directory.EnumerateFileSystemEntries(paths.Destination).Select(Path.GetFileName));
        Assert.Empty(Escapes(paths));
    }

    [Fact]
    public async Task Set_id_and_sticky_bits_and_foreign_owners_from_a_guest_are_dropped()
    {
        using var scratch = new ScratchDirectory();
        var paths = Layout(scratch);
        var script = new HostileFileScript
        {
            Stat = PlainDirectory("tree"),
            Archive = request => Tar(
                Owned(Entry(TarEntryType.Directory, request.EntryName!, octalMode: "7777"), 0),
                Owned(Entry(TarEntryType.RegularFile, $"{request.EntryName}/sh", "#!/bin/sh", octalMode: "4755"), 0),
                Owned(Entry(TarEntryType.RegularFile, $"{request.EntryName}/group", "x", octalMode: "2775"), 4242),
                Owned(Entry(TarEntryType.Directory, $"{request.EntryName}/tmp", octalMode: "1777"), 4242)),
        };
        await using var agent = new HostileAgent(script);
        await using var client = await AgentClient.ConnectAsync(agent.Connector, ReplyTimeout, default);

        await CopyOutAsync(new AgentFileClient(client), "/srv/tree", paths.Destination, recurse: true);

        var root = Path.Combine(paths.Destination, "tree");
        Assert.Equal(["group", "sh", "tmp"], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName).Order());
        Assert.Empty(Escapes(paths));
        output.WriteLine(string.Join('\n', FileTrees.Describe(root)));
    }

    /// <summary>What a copy the user asked for looks like in every case; one place, so the cases read as the hostile part.</summary>
    private static Task<GuestFileCopyResult> CopyOutAsync(AgentFileClient files, string guestPath, string hostPath, bool recurse) =>
        files.CopyFromGuestAsync(guestPath, hostPath, new GuestCopyOptions { Recurse = recurse }, null, default);

    private static IEnumerable<HostileCase> Cases(string outside)
    {
        var planted = Path.Combine(outside, "planted");
        Func<AgentFileClient, CopyPaths, Task> copyFile = (files, paths) => CopyOutAsync(files, "/srv/file.txt", paths.Destination + "/", recurse: false);
        Func<AgentFileClient, CopyPaths, Task> copyTree = (files, paths) => CopyOutAsync(files, "/srv/tree", paths.Destination + "/", recurse: true);
        HostileFileScript Tree(Func<string, TarEntry[]> entries) => new() { Stat = PlainDirectory("tree"), Archive = request => Tar(entries(request.EntryName!)) };

        yield return new("an archive entry with an absolute name", new() { Archive = _ => Tar(Entry(TarEntryType.RegularFile, planted, "evil")) }, copyFile, "HostPathEscape");
        yield return new("archive entries named by a '..' Stat name", new() { Stat = PlainFile(".."), Archive = _ => Tar(Entry(TarEntryType.RegularFile, "../planted", "evil")) }, copyFile, "HostPathEscape");
        yield return new("an archive entry beside the requested file", new() { Archive = request => Tar(Entry(TarEntryType.RegularFile, request.EntryName!, "ok"), Entry(TarEntryType.RegularFile, ".ssh/authorized_keys", "ssh-ed25519 evil")) }, copyFile, "HostArchiveUnexpectedEntry");
        yield return new("an extra top-level entry after a tree", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.RegularFile, $"{root}/ok", "ok"), Entry(TarEntryType.RegularFile, ".ssh/authorized_keys", "evil")]), copyTree, "HostArchiveUnexpectedEntry");
        yield return new("an entry before the requested root", Tree(root => [Entry(TarEntryType.RegularFile, $"{root}/early", "x"), Entry(TarEntryType.Directory, root)]), copyTree, "HostArchiveUnexpectedEntry");
        yield return new("an archive under another name", new() { Archive = _ => Tar(Entry(TarEntryType.RegularFile, "other.txt", "x")) }, copyFile, "HostArchiveUnexpectedEntry");
        yield return new("an empty archive", new() { Archive = _ => Tar() }, copyFile, "HostArchiveUnexpectedEntry", "HostArchiveInvalid");
        yield return new("a tree where a file was asked for", new() { Archive = request => Tar(Entry(TarEntryType.Directory, request.EntryName!), Entry(TarEntryType.RegularFile, $"{request.EntryName}/x", "x")) }, copyFile, "HostArchiveUnexpectedEntry");
        yield return new("the root as a link out", new() { Archive = request => Tar(Entry(TarEntryType.SymbolicLink, request.EntryName!, link: outside)) }, copyFile, "HostArchiveUnexpectedEntry");
        yield return new("a link chain a -> ., b -> a/a/../../outside", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/a", link: "."), Entry(TarEntryType.SymbolicLink, $"{root}/b", link: "a/a/../../outside"), Entry(TarEntryType.RegularFile, $"{root}/b/planted", "evil")]), copyTree, "HostPathEscape");
        yield return new("a link to /etc/shadow", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/shadow", link: "/etc/shadow")]), copyTree, "HostPathEscape");
        yield return new("a dangling link that a later directory makes escape", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/late", link: "missing/../../../outside"), Entry(TarEntryType.Directory, $"{root}/missing")]), copyTree, "HostPathEscape");
        yield return new("a link to the outside written through", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/etc", link: outside), Entry(TarEntryType.RegularFile, $"{root}/etc/planted", "evil")]), copyTree, "HostPathEscape");
        yield return new("a link to the tree's parent written through", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/up", link: ".."), Entry(TarEntryType.RegularFile, $"{root}/up/planted", "evil")]), copyTree, "HostPathEscape");
        yield return new("a '..' entry name", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.RegularFile, $"{root}/../../planted", "evil")]), copyTree, "HostPathEscape");
        yield return new("a character device", Tree(root => [Entry(TarEntryType.Directory, root), Device(TarEntryType.CharacterDevice, $"{root}/null")]), copyTree, "HostUnsupportedFileType");
        yield return new("a block device", Tree(root => [Entry(TarEntryType.Directory, root), Device(TarEntryType.BlockDevice, $"{root}/sda")]), copyTree, "HostUnsupportedFileType");
        yield return new("a FIFO", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.Fifo, $"{root}/pipe")]), copyTree, "HostUnsupportedFileType");
        yield return new("a hard link to /etc/shadow", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.HardLink, $"{root}/shadow", link: "/etc/shadow")]), copyTree, "HostUnsupportedFileType");
        yield return new("a name component longer than 255 bytes", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.RegularFile, $"{root}/{new string('n', 300)}", "x")]), copyTree, "HostArchiveInvalid");
        yield return new("a link target longer than PATH_MAX", Tree(root => [Entry(TarEntryType.Directory, root), Entry(TarEntryType.SymbolicLink, $"{root}/long", link: string.Concat(Enumerable.Repeat("abcdefgh/", 600)))]), copyTree, "HostArchiveInvalid");
        yield return new("a Stat saying directory for a file copy", new() { Stat = PlainDirectory("file.txt") }, copyFile, "CopyRecurseRequired");
        yield return new("bytes that are not tar", new() { Archive = _ => Enumerable.Range(0, 4096).Select(index => (byte)(index * 7)).ToArray() }, copyFile, "HostArchiveInvalid");
        yield return new("a tar cut inside a file", new() { Archive = request => Tar(Entry(TarEntryType.RegularFile, request.EntryName!, new string('x', 100_000)))[..2048] }, copyFile, "HostArchiveInvalid");
        yield return new("endless bytes after the archive", new() { TrailingBytes = 2 * 1024 * 1024 }, copyFile, "HostArchiveInvalid");
        yield return new("a FileResult instead of FileReady", new() { ResultInsteadOfReady = true }, copyFile, "AgentProtocolError");
        yield return new("silence instead of a Stat reply", new() { SilentOn = FileOperation.Stat }, copyFile, "AgentNotResponding");
        yield return new("silence instead of FileReady", new() { SilentOn = FileOperation.Archive }, copyFile, "AgentNotResponding");
        yield return new("a Stat name of 300 bytes", new() { Stat = PlainFile(new string('n', 300)) }, copyFile, "AgentProtocolError");
        yield return new("a Stat name with a slash", new() { Stat = PlainFile("etc/cron.d/x") }, copyFile, "AgentProtocolError");
        yield return new("a Stat mode beyond 07777", new() { Stat = PlainFile("file.txt") with { Mode = 0x10000 } }, copyFile, "AgentProtocolError");
        yield return new("a negative Stat size", new() { Stat = PlainFile("file.txt") with { Size = -1 } }, copyFile, "AgentProtocolError");
        yield return new("a Stat reply that is not JSON", new() { RawStatReply = "{\"info\": [1, 2"u8.ToArray() }, copyFile, "AgentProtocolError");
        yield return new("a listing of 100001 entries", new() { ListBatches = 400, ListBatch = batch => Enumerable.Range(0, 256).Select(index => PlainFile($"f{batch}-{index}")).ToList() }, (files, _) => files.ListAsync("/srv", default), "GuestListingTooLarge");
        yield return new("a listed name with a slash", new() { ListBatches = 1, ListBatch = _ => [PlainFile("../../etc/passwd")] }, (files, _) => files.ListAsync("/srv", default), "AgentProtocolError");
        yield return new("file content beyond the credit window", new() { IgnoreCredit = true }, (files, _) => files.ReadAsync("/srv/file.txt", new SlowStream(), null, default), "AgentProtocolError");
        yield return new("a Stat name that is a host path", new() { Stat = PlainFile(planted) }, copyFile, "AgentProtocolError");
    }

    private static string SampleOutside => "/nonexistent/outside";

    /// <summary>A destination that takes a while per write, so a sender ignoring credit gets ahead of the reader.</summary>
    private sealed class SlowStream : MemoryStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await Task.Delay(200, cancellationToken);
    }

    private static PaxTarEntry Owned(PaxTarEntry entry, int id)
    {
        entry.Uid = id;
        entry.Gid = id;
        return entry;
    }

    private static PaxTarEntry Device(TarEntryType type, string name)
    {
        var entry = new PaxTarEntry(type, name) { Mode = (UnixFileMode)0x1B6 };
        (entry.DeviceMajor, entry.DeviceMinor) = (1, 3);
        return entry;
    }

    private static CopyPaths Layout(ScratchDirectory scratch)
    {
        var paths = new CopyPaths(scratch.Path, scratch.Combine("dest"), scratch.Combine("outside"));
        Directory.CreateDirectory(paths.Destination);
        Directory.CreateDirectory(paths.Outside);
        return paths;
    }

    /// <summary>Anything in the scratch directory but the two directories, anything in "outside", any special bit or foreign owner below the destination.</summary>
    private static IEnumerable<string> Escapes(CopyPaths paths)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(paths.Scratch).Select(Path.GetFileName).Except(["dest", "outside"]))
        {
            yield return $"'{entry}' appeared beside the destination";
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(paths.Outside))
        {
            yield return $"'{entry}' was written outside the destination";
        }

        var invoker = UnixFileSystem.GetStatus(paths.Destination);
        foreach (var entry in Directory.EnumerateFileSystemEntries(paths.Destination, "*", SearchOption.AllDirectories))
        {
            var status = UnixFileSystem.GetStatus(entry);
            if (status.Kind == FileKind.Other)
            {
                yield return $"'{entry}' is a device, FIFO or socket";
            }

            if ((status.Mode & 0xE00) != 0 && status.Kind != FileKind.SymbolicLink)
            {
                yield return $"'{entry}' has the mode {Convert.ToString(status.Mode, 8)}";
            }

            if ((status.Uid, status.Gid) != (invoker.Uid, invoker.Gid))
            {
                yield return $"'{entry}' belongs to {status.Uid}:{status.Gid}";
            }
        }
    }
}
