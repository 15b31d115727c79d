using System.Text.Json;
using VmPs.Core.Hypervisors;
using VmPs.Core.Processes;
using VmPs.Core.Storage;
using VmPs.Protocol.Files;
using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Storage;

/// <summary>
/// The in-process qcow2 writer, judged by QEMU's own tools: qemu-img check finds the files clean, qemu-img info
/// reads the same image qemu-img create makes for the same options, and data qemu-io writes through QEMU's qcow2
/// driver lands in the overlay (the base unchanged), the refcounts staying consistent.
/// </summary>
public sealed class Qcow2OverlayTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly ScratchDirectory scratch = new();

    public void Dispose() => scratch.Dispose();

    [RequiresProgramFact("qemu-img")]
    public async Task The_overlay_is_clean_private_and_reads_its_base()
    {
        var basePath = await BaseAsync("base.img", 4 * MiB, 7);
        var overlay = scratch.Combine("overlay.qcow2");

        Qcow2Overlay.Create(overlay, 4 * MiB, new BackingImage(basePath, DiskImageFormat.Raw));

        await CheckCleanAsync(overlay);
        Assert.Equal(0b110_000_000, UnixFileSystem.GetStatus(overlay).Mode & 0b111_111_111);
        using var chain = await InfoAsync("info", "--output=json", "--backing-chain", "-f", "qcow2", overlay);
        var images = chain.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        Assert.Equal(basePath, images[0].GetProperty("backing-filename").GetString());
        Assert.Equal("raw", images[0].GetProperty("backing-filename-format").GetString());
        Assert.Equal(4 * MiB, images[0].GetProperty("virtual-size").GetInt64());
        Assert.Equal("raw", images[1].GetProperty("format").GetString());
        Assert.Equal(await File.ReadAllBytesAsync(basePath), await FlattenAsync(overlay));
    }

    [RequiresProgramFact("qemu-img", "qemu-io")]
    public async Task Data_written_through_qemu_lands_in_the_overlay_and_leaves_the_base_alone()
    {
        var basePath = await BaseAsync("base.img", 4 * MiB, 7);
        var original = await File.ReadAllBytesAsync(basePath);
        var overlay = scratch.Combine("overlay.qcow2");
        Qcow2Overlay.Create(overlay, 4 * MiB, new BackingImage(basePath, DiskImageFormat.Raw));
        var before = new FileInfo(overlay).Length;

        await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 1M 128k", overlay], CancellationToken.None);

        await CheckCleanAsync(overlay);
        Assert.Equal(original, await File.ReadAllBytesAsync(basePath));
        Assert.True(new FileInfo(overlay).Length >= before + (128 * 1024), "the written clusters are not in the overlay");
        var flat = await FlattenAsync(overlay);
        Assert.All(flat.AsSpan((int)MiB, 128 * 1024).ToArray(), value => Assert.Equal(0x5a, value));
        Assert.Equal(original.AsSpan(0, (int)MiB).ToArray(), flat.AsSpan(0, (int)MiB).ToArray());
        Assert.Equal(original.AsSpan((int)MiB + (128 * 1024)).ToArray(), flat.AsSpan((int)MiB + (128 * 1024)).ToArray());
    }

    [RequiresProgramFact("qemu-img", "qemu-io")]
    public async Task A_relative_backing_name_resolves_beside_the_overlay_and_a_large_disk_is_writable_at_its_end()
    {
        // 9 TiB: an L1 table of three clusters. The base is a qcow2 file, as a frozen overlay is.
        const long size = 9L << 40;
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", scratch.Combine("frozen.qcow2"), "9T"], CancellationToken.None);
        var overlay = scratch.Combine("top.qcow2");

        Qcow2Overlay.Create(overlay, size, new BackingImage("frozen.qcow2", DiskImageFormat.Qcow2));
        await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P 0x33 {size - (64 * 1024)} 64k", overlay], CancellationToken.None);

        await CheckCleanAsync(overlay);
        var info = await QemuImage.InfoAsync(overlay, DiskImageFormat.Qcow2, CancellationToken.None);
        Assert.Equal(size, info.VirtualSizeBytes);
        Assert.Equal(scratch.Combine("frozen.qcow2"), info.BackingFile);
        var read = await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "qcow2", "-c", $"read -P 0x33 {size - (64 * 1024)} 64k", overlay], CancellationToken.None);
        Assert.DoesNotContain("Pattern verification failed", read.StandardOutput, StringComparison.Ordinal);
    }

    [RequiresProgramFact("qemu-img")]
    public async Task The_header_reads_as_the_one_qemu_img_create_writes()
    {
        var backing = new BackingImage("base.img", DiskImageFormat.Raw);
        var ours = scratch.Combine("ours.qcow2");
        var theirs = scratch.Combine("theirs.qcow2");

        Qcow2Overlay.Create(ours, 3L << 30, backing);
        await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-u", "-b", "base.img", "-F", "raw", theirs, "3G"], CancellationToken.None);

        using var oursInfo = await InfoAsync("info", "--output=json", "-U", "-f", "qcow2", ours);
        using var theirsInfo = await InfoAsync("info", "--output=json", "-U", "-f", "qcow2", theirs);
        foreach (var property in new[] { "virtual-size", "cluster-size", "backing-filename", "backing-filename-format", "format-specific" })
        {
            Assert.Equal(theirsInfo.RootElement.GetProperty(property).GetRawText(), oursInfo.RootElement.GetProperty(property).GetRawText());
        }
    }

    [Fact]
    public void Bad_input_leaves_nothing_and_an_existing_file_untouched()
    {
        var backing = new BackingImage("base.img", DiskImageFormat.Raw);
        var path = scratch.Combine("disk.qcow2");

        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2Overlay.Create(path, MiB + 1, backing));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2Overlay.Create(path, 0, backing));
        Assert.Throws<ArgumentOutOfRangeException>(() => Qcow2Overlay.Create(path, 1L << 62, backing));
        Assert.Throws<ArgumentException>(() => Qcow2Overlay.Create(path, MiB, new BackingImage(new string('a', 1024), DiskImageFormat.Raw)));
        Assert.False(File.Exists(path));

        File.WriteAllText(path, "someone's file");
        Assert.Throws<FileOperationException>(() => Qcow2Overlay.Create(path, MiB, backing));
        Assert.Equal("someone's file", File.ReadAllText(path));

        // Several at once: the ones this call made go when a later one cannot be made.
        var first = scratch.Combine("first.qcow2");
        Assert.Throws<FileOperationException>(() => Qcow2Overlay.CreateAll([first, path], MiB, backing));
        Assert.False(File.Exists(first));
        Assert.Equal("someone's file", File.ReadAllText(path));
    }

    [RequiresProgramFact("qemu-img")]
    public async Task Several_images_made_at_once_are_each_a_valid_image_over_the_backing_file()
    {
        var basePath = await BaseAsync("base.img", 4 * MiB, 0x40);
        var paths = new[] { scratch.Combine("a.qcow2"), scratch.Combine("b.qcow2") };

        Qcow2Overlay.CreateAll(paths, 4 * MiB, new BackingImage(basePath, DiskImageFormat.Raw));

        foreach (var path in paths)
        {
            await ExternalTool.RunCheckedAsync("qemu-img", ["check", "-f", "qcow2", path], CancellationToken.None);
            var info = await QemuImage.InfoAsync(path, DiskImageFormat.Qcow2, CancellationToken.None);
            Assert.Equal(basePath, info.BackingFile);
            Assert.Equal(4 * MiB, info.VirtualSizeBytes);
            Assert.Equal(0b110_000_000, UnixFileSystem.GetStatus(path).Mode);
        }
    }

    private async Task<string> BaseAsync(string name, long size, byte fill)
    {
        var path = scratch.Combine(name);
        var data = Enumerable.Range(0, (int)size).Select(index => (byte)(fill + (index / 4096))).ToArray();
        await File.WriteAllBytesAsync(path, data);
        return path;
    }

    private async Task<byte[]> FlattenAsync(string overlay)
    {
        var flat = scratch.Combine(Path.GetFileNameWithoutExtension(overlay) + "-flat.img");
        await QemuImage.ConvertAsync(overlay, DiskImageFormat.Qcow2, flat, DiskImageFormat.Raw, CancellationToken.None);
        return await File.ReadAllBytesAsync(flat);
    }

    private static async Task CheckCleanAsync(string path)
    {
        var (result, message) = await QemuImage.CheckAsync(path, CancellationToken.None);
        Assert.True(result == DiskImageCheckResult.Clean, $"qemu-img check: {result}: {message}");
    }

    private static async Task<JsonDocument> InfoAsync(params string[] arguments) =>
        JsonDocument.Parse((await ExternalTool.RunCheckedAsync("qemu-img", arguments, CancellationToken.None)).StandardOutput);
}
