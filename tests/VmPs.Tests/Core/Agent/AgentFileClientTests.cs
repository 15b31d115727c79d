using System.Security.Cryptography;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Core.Images.Registry;
using VmPs.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Agent;

/// <summary>
/// File operations against the real agent binary serving on a Unix socket on this host ("vmps-guest agent
/// --listen-unix"): the same code as in a VM, without a boot, for the edge cases.
/// </summary>
public class AgentFileClientTests : IClassFixture<GuestAgentFixture>, IDisposable
{
    private readonly GuestAgentProcess agent;
    private readonly ScratchDirectory scratch = new();

    private readonly ITestOutputHelper output;

    public AgentFileClientTests(GuestAgentFixture fixture, ITestOutputHelper output)
    {
        agent = fixture.Agent;
        this.output = output;
    }

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task Write_then_read_round_trips_content_larger_than_the_window_with_mode_and_owner()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var content = FileTrees.RandomBytes(3 * FileTransferWindow.Bytes + 12345);
        var path = scratch.Combine("new", "dir", "file.bin");
        var reports = new List<FileTransferProgress>();

        var written = await files.WriteAsync(path, new MemoryStream(content), new GuestFileWriteOptions { Mode = (UnixFileMode)Convert.ToInt32("640", 8), Uid = 1234, Gid = 2345 }, new SynchronousProgress(reports), default);
        using var readBack = new MemoryStream();
        var read = await files.ReadAsync(path, readBack, progress: null, default);

        Assert.Equal(content, readBack.ToArray());
        Assert.Equal((FileKind.File, content.LongLength, "640", 1234, 2345), (written.Type, written.Size, Convert.ToString((int)written.Mode, 8), written.Uid, written.Gid));
        Assert.Equal(content.LongLength, read.Size);
        var status = UnixFileSystem.GetStatus(path);
        Assert.Equal((1234, 2345, Convert.ToInt32("640", 8)), (status.Uid, status.Gid, status.Mode));
        Assert.Equal(content.LongLength, reports[^1].Bytes);
        Assert.Equal(100, reports[^1].PercentComplete);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public async Task Write_refuses_an_existing_file_without_overwrite_and_replaces_it_with_overwrite()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var path = scratch.Combine("existing.txt");
        FileTrees.WriteFile(path, "old", "600");

        var refused = await Assert.ThrowsAsync<VmPsException>(() => files.WriteAsync(path, new MemoryStream("new"u8.ToArray()), null, null, default));
        var unchanged = File.ReadAllText(path);
        var replaced = await files.WriteAsync(path, new MemoryStream("new"u8.ToArray()), new GuestFileWriteOptions { Overwrite = true }, null, default);

        Assert.Equal(("GuestFileExists", VmPsErrorKind.ResourceExists, "old"), (refused.ErrorId, refused.Kind, unchanged));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal("600", Convert.ToString((int)replaced.Mode, 8));
    }

    [Fact]
    public async Task Errors_have_specific_ids()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        Directory.CreateDirectory(scratch.Combine("full", "child"));
        File.WriteAllText(scratch.Combine("plain"), "x");

        async Task<string> ErrorOf(Func<Task> action) => (await Assert.ThrowsAsync<VmPsException>(action)).ErrorId;

        Assert.Equal("GuestFileNotFound", await ErrorOf(() => files.StatAsync(scratch.Combine("missing"), default)));
        Assert.Equal("GuestFileNotFound", await ErrorOf(() => files.ReadAsync(scratch.Combine("missing"), Stream.Null, null, default)));
        Assert.Equal("GuestPathIsDirectory", await ErrorOf(() => files.ReadAsync(scratch.Path, Stream.Null, null, default)));
        Assert.Equal("GuestPathIsDirectory", await ErrorOf(() => files.WriteAsync(scratch.Combine("full"), Stream.Null, new GuestFileWriteOptions { Overwrite = true }, null, default)));
        Assert.Equal("GuestPathNotDirectory", await ErrorOf(() => files.ListAsync(scratch.Combine("plain"), default)));
        Assert.Equal("GuestDirectoryNotEmpty", await ErrorOf(() => files.DeleteAsync(scratch.Combine("full"), recursive: false, default)));
        Assert.Equal("InvalidGuestPath", await ErrorOf(() => files.StatAsync("relative/path", default)));
        Assert.True(Directory.Exists(scratch.Combine("full", "child")));
    }

    [Fact]
    public async Task Stat_list_and_delete_describe_and_remove_entries()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var root = scratch.Combine("tree");
        FileTrees.CreateSample(root);

        var link = await files.StatAsync(Path.Combine(root, "sub", "link"), default);
        var script = await files.StatAsync(Path.Combine(root, "run.sh"), default);
        var entries = await files.ListAsync(root, default);
        await files.DeleteAsync(Path.Combine(root, "sub", "link"), recursive: false, default);
        await files.DeleteAsync(Path.Combine(root, "empty"), recursive: false, default);
        await files.DeleteAsync(Path.Combine(root, "sub"), recursive: true, default);

        Assert.Equal((FileKind.SymbolicLink, "deeper/data.bin"), (link.Type, link.LinkTarget));
        Assert.Equal((FileKind.File, 18L, "755", FileTrees.FixedTime), (script.Type, script.Size, Convert.ToString((int)script.Mode, 8), script.LastWriteTimeUtc));
        Assert.Equal(["empty", "run.sh", "secret", "sub"], entries.Select(entry => entry.Name));
        Assert.Equal(FileKind.Directory, entries[0].Type);
        Assert.Equal(["run.sh", "secret"], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_directory_tree_round_trips_with_modes_times_links_and_empty_directories()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var source = scratch.Combine("source");
        FileTrees.CreateSample(source);
        Directory.CreateDirectory(scratch.Combine("guest"));
        Directory.CreateDirectory(scratch.Combine("back"));

        var into = await files.CopyToGuestAsync(source, scratch.Combine("guest"), new GuestCopyOptions { Recurse = true }, null, default);
        var back = await files.CopyFromGuestAsync(scratch.Combine("guest", "source"), scratch.Combine("back", "copy"), new GuestCopyOptions { Recurse = true }, null, default);

        Assert.Equal(scratch.Combine("guest", "source"), into.Destination);
        Assert.Equal(8, into.Entries);
        Assert.Equal(FileTrees.Describe(source), FileTrees.Describe(scratch.Combine("guest", "source")));
        Assert.Equal(FileTrees.Describe(source), FileTrees.Describe(back.Destination));
        Assert.Equal(FileTrees.FixedTime, UnixFileSystem.GetStatus(back.Destination).LastWriteTimeUtc);
    }

    [Fact]
    public async Task Copies_need_recurse_for_directories_and_overwrite_for_existing_targets()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var source = scratch.Combine("source");
        FileTrees.CreateSample(source);
        var target = scratch.Combine("target.sh");
        FileTrees.WriteFile(target, "keep", "644");

        var noRecurse = await Assert.ThrowsAsync<VmPsException>(() => files.CopyToGuestAsync(source, scratch.Combine("elsewhere"), new GuestCopyOptions(), null, default));
        var noOverwrite = await Assert.ThrowsAsync<VmPsException>(() => files.CopyToGuestAsync(Path.Combine(source, "run.sh"), target, new GuestCopyOptions(), null, default));
        var hostNoOverwrite = await Assert.ThrowsAsync<VmPsException>(() => files.CopyFromGuestAsync(Path.Combine(source, "run.sh"), target, new GuestCopyOptions(), null, default));
        var fromNoRecurse = await Assert.ThrowsAsync<VmPsException>(() => files.CopyFromGuestAsync(source, scratch.Combine("elsewhere"), new GuestCopyOptions(), null, default));
        var kept = File.ReadAllText(target);
        await files.CopyToGuestAsync(Path.Combine(source, "run.sh"), target, new GuestCopyOptions { Overwrite = true }, null, default);

        Assert.Equal(("CopyRecurseRequired", "GuestFileExists", "HostFileExists", "CopyRecurseRequired"), (noRecurse.ErrorId, noOverwrite.ErrorId, hostNoOverwrite.ErrorId, fromNoRecurse.ErrorId));
        Assert.Equal("keep", kept);
        Assert.Equal(File.ReadAllText(Path.Combine(source, "run.sh")), File.ReadAllText(target));
        Assert.Equal("755", Convert.ToString(UnixFileSystem.GetStatus(target).Mode, 8));
        Assert.False(Directory.Exists(scratch.Combine("elsewhere")));
    }

    [Theory]
    [InlineData("../escaped", null)]
    [InlineData("/tmp/vmps-absolute-escape", null)]
    [InlineData("inner/../../escaped", null)]
    [InlineData("link", "../outside")]
    [InlineData("link", "/etc")]
    public async Task Extraction_rejects_entries_that_leave_the_destination_and_writes_nothing_outside(string name, string? linkTarget)
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var destination = scratch.Combine("dest");
        using var archive = linkTarget is null
            ? FileTrees.Tar(FileTrees.FileEntry("ok.txt", "fine"), FileTrees.FileEntry(name, "evil"))
            : FileTrees.Tar(FileTrees.LinkEntry(name, linkTarget), FileTrees.FileEntry("link/passwd", "evil"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => files.ExtractArchiveAsync(archive, destination, overwrite: true, null, default));

        Assert.Equal(("GuestPathEscape", VmPsErrorKind.InvalidData), (error.ErrorId, error.Kind));
        Assert.False(File.Exists(scratch.Combine("escaped")));
        Assert.False(File.Exists("/tmp/vmps-absolute-escape"));
        Assert.Equal(["dest"], Directory.EnumerateFileSystemEntries(scratch.Path).Select(Path.GetFileName));
        Assert.NotEqual("evil", File.ReadAllText("/etc/passwd"));
        // Links the host sends are the user's own and stay as they are (a virtualenv's python -> /usr/bin/python3);
        // what matters is that nothing is written through one.
        Assert.Equal(linkTarget, new FileInfo(Path.Combine(destination, "link")).LinkTarget);
    }

    [Fact]
    public async Task Extraction_refuses_to_write_through_an_existing_link_in_the_destination()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var outside = scratch.Combine("outside");
        Directory.CreateDirectory(outside);
        var destination = scratch.Combine("dest");
        Directory.CreateDirectory(destination);
        File.CreateSymbolicLink(Path.Combine(destination, "link"), outside);
        using var archive = FileTrees.Tar(FileTrees.FileEntry("link/planted", "evil"));

        var error = await Assert.ThrowsAsync<VmPsException>(() => files.ExtractArchiveAsync(archive, destination, overwrite: true, null, default));

        Assert.Equal("GuestPathEscape", error.ErrorId);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public async Task Streaming_100_MiB_each_way_keeps_the_agent_memory_bounded()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        const long size = 100L * 1024 * 1024;
        var path = scratch.Combine("big.bin");

        using var hashIn = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await files.WriteAsync(path, new PatternStream(size, hashIn), null, null, default);
        using var sha256 = SHA256.Create();
        await using (var hashOut = new CryptoStream(Stream.Null, sha256, CryptoStreamMode.Write))
        {
            await files.ReadAsync(path, hashOut, null, default);
        }

        Assert.Equal(size, new FileInfo(path).Length);
        Assert.Equal(hashIn.GetHashAndReset(), sha256.Hash);
        var peakKiB = long.Parse(File.ReadAllLines($"/proc/{agent.Process.Id}/status").Single(line => line.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        output.WriteLine($"agent peak resident memory after 100 MiB each way: {peakKiB / 1024} MiB");
        Assert.True(peakKiB < 80 * 1024, $"the agent's peak resident memory was {peakKiB / 1024} MiB while streaming 100 MiB each way");
    }

    [Fact]
    public async Task Cancelling_a_write_leaves_neither_the_file_nor_its_temporary_behind()
    {
        await using var client = await AgentClient.ConnectAsync(agent.Connector, default);
        var files = new AgentFileClient(client);
        var directory = scratch.Combine("cancel");
        using var cancellation = new CancellationTokenSource();
        var source = new PatternStream(1L << 40, hash: null) { AfterBytes = (32L << 20, cancellation.Cancel) };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => files.WriteAsync(Path.Combine(directory, "never.bin"), source, null, null, cancellation.Token));
        await WaitUntilAsync(() => !Directory.EnumerateFileSystemEntries(directory).Any());

        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
        Assert.NotNull(await files.StatAsync(directory, default));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 500 && !condition(); attempt++)
        {
            await Task.Delay(20);
        }
    }

    private sealed class SynchronousProgress(List<FileTransferProgress> reports) : IProgress<FileTransferProgress>
    {
        public void Report(FileTransferProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }

    /// <summary>A long read-only stream of pseudo-random bytes made on the fly (never held in memory), hashed as read.</summary>
    private sealed class PatternStream(long length, IncrementalHash? hash) : GeneratedStream(length)
    {
        private readonly Random random = new(42);

        public (long Bytes, Action Action)? AfterBytes { get; init; }

        protected override void Generate(Span<byte> buffer, long offset)
        {
            random.NextBytes(buffer);
            hash?.AppendData(buffer);
            if (AfterBytes is { } after && offset + buffer.Length >= after.Bytes)
            {
                after.Action();
            }
        }
    }
}
