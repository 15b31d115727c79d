using System.Diagnostics;
using VmPs.Core;
using VmPs.Core.Agent;
using VmPs.Protocol.Files;
using VmPs.Protocol.Messages;
using VmPs.Tests.Infrastructure;
using VmPs.Tests.Integration;
using Xunit.Abstractions;

namespace VmPs.Tests.Core.Agent;

/// <summary>File operations in a real VM (QEMU, virtio-serial agent channel), on the shared booted busybox VM.</summary>
[Collection(VmBootCollection.Name)]
public sealed class GuestFileCopyTests : IDisposable
{
    private const string GuestRoot = "/tmp/file-tests";

    private readonly BootedBusyboxVm vm;
    private readonly ITestOutputHelper output;
    private readonly ScratchDirectory scratch = new();

    public GuestFileCopyTests(BootedBusyboxVm vm, ITestOutputHelper output)
    {
        this.vm = vm;
        this.output = output;
    }

    public void Dispose() => scratch.Dispose();

    [RequiresVmBootFact]
    public async Task A_50_MiB_random_file_copied_in_and_back_out_keeps_its_SHA256()
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var files = new AgentFileClient(client);
        var source = scratch.Combine("random.bin");
        await File.WriteAllBytesAsync(source, FileTrees.RandomBytes(50 * 1024 * 1024));
        var guestDirectory = $"{GuestRoot}/big-{Guid.NewGuid():N}";

        var clock = Stopwatch.StartNew();
        var into = await files.CopyToGuestAsync(source, guestDirectory + "/", new GuestCopyOptions { CreateFullPath = true }, null, default);
        var inSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var back = await files.CopyFromGuestAsync(into.Destination, scratch.Combine("back.bin"), new GuestCopyOptions(), null, default);
        var outSeconds = clock.Elapsed.TotalSeconds;
        var guestHash = await client.ExecAsync(new AgentExecRequest(["sha256sum", into.Destination]), default);
        await files.DeleteAsync(guestDirectory, recursive: true, default);

        output.WriteLine($"50 MiB into the guest: {inSeconds:0.00} s ({50 / inSeconds:0.0} MiB/s); out of the guest: {outSeconds:0.00} s ({50 / outSeconds:0.0} MiB/s)");
        Assert.Equal(50L * 1024 * 1024, into.Bytes);
        Assert.Equal(FileTrees.Sha256(source), FileTrees.Sha256(back.Destination));
        Assert.StartsWith(FileTrees.Sha256(source).ToLowerInvariant(), guestHash.Stdout);
    }

    [RequiresVmBootFact]
    public async Task A_tree_with_modes_a_link_and_an_empty_directory_round_trips()
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var files = new AgentFileClient(client);
        var source = scratch.Combine("tree");
        FileTrees.CreateSample(source);
        var guestTarget = $"{GuestRoot}/tree-{Guid.NewGuid():N}";

        await files.CopyToGuestAsync(source, guestTarget, new GuestCopyOptions { Recurse = true, CreateFullPath = true }, null, default);
        var listing = await client.ExecAsync(new AgentExecRequest(["sh", "-c", $"cd {guestTarget} && stat -c '%n %a %Y' run.sh secret empty && readlink sub/link"]), default);
        var back = await files.CopyFromGuestAsync(guestTarget, scratch.Combine("back"), new GuestCopyOptions { Recurse = true }, null, default);

        Assert.Equal(FileTrees.Describe(source), FileTrees.Describe(back.Destination));
        var time = FileTrees.FixedTime.ToUnixTimeSeconds();
        Assert.Equal($"run.sh 755 {time}\nsecret 600 {time}\nempty 700 {time}\ndeeper/data.bin\n", listing.Stdout);
        await files.DeleteAsync(guestTarget, recursive: true, default);
    }

    [RequiresVmBootFact]
    public async Task Stat_list_delete_and_refused_overwrite_in_the_guest()
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var files = new AgentFileClient(client);
        var directory = $"{GuestRoot}/ops-{Guid.NewGuid():N}";
        await files.WriteAsync($"{directory}/a.txt", new MemoryStream("alpha"u8.ToArray()), new GuestFileWriteOptions { Mode = (UnixFileMode)Convert.ToInt32("600", 8) }, null, default);
        var source = scratch.Combine("a.txt");
        await File.WriteAllTextAsync(source, "other");

        var stat = await files.StatAsync($"{directory}/a.txt", default);
        var list = await files.ListAsync(directory, default);
        var refused = await Assert.ThrowsAsync<VmPsException>(() => files.CopyToGuestAsync(source, directory, new GuestCopyOptions(), null, default));
        using var content = new MemoryStream();
        await files.ReadAsync($"{directory}/a.txt", content, null, default);
        await files.DeleteAsync(directory, recursive: true, default);
        var gone = await files.TryStatAsync(directory, default);

        Assert.Equal((FileKind.File, 5L, "600", 0), (stat.Type, stat.Size, Convert.ToString((int)stat.Mode, 8), stat.Uid));
        Assert.Equal(["a.txt"], list.Select(entry => entry.Name));
        Assert.Equal("GuestFileExists", refused.ErrorId);
        Assert.Equal("alpha"u8.ToArray(), content.ToArray());
        Assert.Null(gone);
    }

    [RequiresVmBootFact]
    public async Task A_tar_escaping_its_destination_is_rejected_and_nothing_is_written_outside()
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var files = new AgentFileClient(client);
        var directory = $"{GuestRoot}/escape-{Guid.NewGuid():N}";
        using var dotDot = FileTrees.Tar(FileTrees.FileEntry("../planted-dotdot", "evil"));
        using var link = FileTrees.Tar(FileTrees.LinkEntry("etc", "/etc"), FileTrees.FileEntry("etc/planted-link", "evil"));

        var dotDotError = await Assert.ThrowsAsync<VmPsException>(() => files.ExtractArchiveAsync(dotDot, $"{directory}/dest", overwrite: true, null, default));
        var linkError = await Assert.ThrowsAsync<VmPsException>(() => files.ExtractArchiveAsync(link, $"{directory}/dest", overwrite: true, null, default));
        var outside = await client.ExecAsync(new AgentExecRequest(["sh", "-c", $"ls {directory}; ls /etc/planted-link 2>&1"]), default);
        await files.DeleteAsync(directory, recursive: true, default);

        Assert.Equal(("GuestPathEscape", "GuestPathEscape"), (dotDotError.ErrorId, linkError.ErrorId));
        Assert.StartsWith("dest\n", outside.Stdout);
        Assert.Contains("No such file", outside.Stdout);
    }
}
